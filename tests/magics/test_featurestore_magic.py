"""``%eo fs`` against real feature groups."""

from __future__ import annotations

import pandas as pd


def test_fs_list_show_stats(in_project, project):
    fg = project.get_feature_store().create_feature_group(
        "iceberg", version=1, primary_key=["id"], description="<b>chips</b>"
    )
    fg.save(pd.DataFrame({"id": [1, 2], "band_1": [[0.5] * 10, [1.5] * 10], "is_iceberg": [0, 1]}))
    listing = in_project("fs list")
    assert listing.column("name") == ["iceberg"]
    assert "&lt;b&gt;chips&lt;/b&gt;" in listing._repr_html_()
    shown = in_project("fs show iceberg --version 1")
    assert "[10 values]" in repr(shown) and "is_iceberg" in repr(shown)
    stats = in_project("fs stats iceberg")
    assert stats.stats["row_count"] == 2


def test_fs_bad_input_is_one_line(in_project, error_line):
    assert in_project("fs drop") is None
    assert "ACTION must be one of" in error_line()
    assert in_project("fs show") is None
    assert "needs the feature group NAME" in error_line()
    assert in_project("fs show nosuchgroup") is None
    assert "not_found" in error_line()
