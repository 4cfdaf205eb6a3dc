"""``%eo fs validate NAME`` and ``%eo fs expectations [NAME]`` in a real IPython shell."""

from __future__ import annotations

import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config


@pytest.fixture(scope="module")
def shell() -> InteractiveShell:
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ip = InteractiveShell.instance(config=config)
    ip.run_line_magic("load_ext", "eolab")
    return ip


@pytest.fixture
def eo(shell, fs, monkeypatch):
    """``eo(line)`` runs ``%eo line`` in project ExtremeEarth (as alice)."""
    monkeypatch.setenv("EOLAB_USER", "alice")
    shell.run_line_magic("eo", "project ExtremeEarth")
    return lambda line: shell.run_line_magic("eo", line)


def test_expectations_and_validate(eo, fs, chips, label_rules, capsys):
    fg = fs.create_feature_group(
        "iceberg", version=1, primary_key=["id"], expectations=[label_rules], validation_type="ALL"
    )
    fg.save(chips(3))
    listing = eo("fs expectations")
    assert listing.column("expectation") == ["iceberg_label"]
    assert listing.column("rules") == ["HAS_MIN, HAS_MAX"]
    of_group = eo("fs expectations iceberg --version 1")
    text = repr(of_group)
    assert "STRICT" not in text and "ALL" in text and "SUCCESS at" in text
    assert "HAS_MAX" in text and "≤ 1" in text
    report = eo("fs validate iceberg")
    assert report.status == "SUCCESS" and report.row_count == 3
    assert "is_iceberg max is 1, as expected" in report._repr_html_()
    assert len(fg.get_validations()) == 1  # the magic's run is a dry run


def test_bad_lines_print_one_line(eo, fs, capsys):
    def error_line() -> str:
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("eolab: "), err
        return err[0]

    assert eo("fs validate") is None
    assert "needs the feature group NAME" in error_line()
    assert eo("fs validate nosuchgroup") is None
    assert "not_found" in error_line()
    fs.create_feature_group("bare", version=1, primary_key=["id"]).save(pd.DataFrame({"id": [1]}))
    assert eo("fs validate bare") is None
    assert "no expectations to validate with" in error_line()
