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


def test_fs_td_list_and_show(in_project, project):
    fs = project.get_feature_store()
    fg = fs.create_feature_group("iceberg", version=1, primary_key=["id"], statistics_config=False)
    fg.save(
        pd.DataFrame({"id": [1, 2, 3, 4], "band_1": [[0.5] * 4] * 4, "is_iceberg": [0, 1, 0, 1]})
    )
    td = fs.create_training_dataset(
        "iceberg_td",
        version=1,
        description="<i>train</i>",
        splits={"train": 0.5, "test": 0.5},
        seed=42,
        label=["is_iceberg"],
        statistics_config=False,
        feature_shapes={"band_1": [2, 2]},
    )
    td.save(fg.select_all())
    listing = in_project("fs td list")
    assert listing.column("name") == ["iceberg_td"] and listing.column("rows") == [4]
    assert listing.column("format") == ["tfrecords"]
    assert "&lt;i&gt;train&lt;/i&gt;" in listing._repr_html_()
    shown = in_project("fs td show iceberg_td --version 1")
    text = repr(shown)
    assert "training dataset iceberg_td" in text and "[2, 2]" in text
    assert "iceberg" in text and "train" in text and "test" in text
    assert shown.data.provenance == [{"name": "iceberg", "version": 1, "commit_id": 0}]


def test_fs_td_bad_input_is_one_line(in_project, error_line):
    assert in_project("fs td drop") is None
    assert "%eo fs td needs list or show" in error_line()
    assert in_project("fs td show") is None
    assert "needs the training dataset NAME" in error_line()
    assert in_project("fs td show nosuchtd") is None
    assert "not_found" in error_line()
