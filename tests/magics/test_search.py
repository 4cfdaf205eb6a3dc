"""``%eo search TERM``: hits the caller may see, with matched words marked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import eolab
from eolab.datasets.api import DatasetApi
from eolab.search import SearchResult
from eolab.widgets import Highlighted, Table

Eo = Callable[..., Any]


@pytest.fixture
def scenes(datasets: DatasetApi, polar_value: dict[str, Any]) -> DatasetApi:
    """Datasets eodata (tagged in the Arctic Ocean) and scenes (an escaped description)."""
    datasets.create("scenes", "Sentinel-1 <script>alert(1)</script> iceberg scenes")
    datasets.add_tag("eodata", "location_polar", polar_value)
    return datasets


def test_search_shows_the_hits_with_the_matched_words_marked(eo: Eo, scenes: DatasetApi) -> None:
    result = eo("search iceberg")
    assert isinstance(result, Table)
    assert isinstance(result.data, SearchResult)
    assert result.title == "1 hit(s) for 'iceberg' in everything"
    assert result.column("kind") == ["dataset"]
    assert result.column("project") == ["ExtremeEarth"]
    assert result.column("path") == ["scenes"]
    assert result.column("matched in") == ["description"]
    (description,) = result.column("description")
    assert isinstance(description, Highlighted)
    html = result._repr_html_()
    assert "<mark>iceberg</mark>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert "scenes  Sentinel-1 <script>alert(1)</script> iceberg scenes" in repr(result)


def test_search_needs_no_current_project(eo: Eo, scenes: DatasetApi) -> None:
    assert [str(n) for n in eo("search arctic ocean").column("name")] == ["eodata"]


def test_search_finds_tags_and_unquoted_words_are_one_term(eo: Eo, scenes: DatasetApi) -> None:
    result = eo("search Arctic Ocean")
    assert result.column("matched in") == ["tags"]
    assert eo("search 'Arctic Ocean'").column("path") == ["eodata"]


def test_scope_and_limit(eo: Eo, scenes: DatasetApi, workspace: eolab.Workspace) -> None:
    workspace.create_project("Sentinel_Arctic")
    assert eo("search sentinel --scope projects").column("name")[0].text == "Sentinel_Arctic"
    assert eo("search sentinel --scope datasets").column("path") == ["scenes"]
    assert eo("search sentinel --scope featurestore").column("kind") == []
    limited = eo("search sentinel --limit 1")
    assert len(limited) == 1
    assert limited.title == "2 hit(s) for 'sentinel' in everything (first 1; --limit shows more)"
    assert "(no hits)" in repr(eo("search nothingmatches"))


def test_a_user_sees_only_the_projects_they_belong_to(
    eo: Eo, scenes: DatasetApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EOLAB_USER", "bob")
    assert len(eo("search iceberg")) == 0


def test_bad_scope_and_limit_are_one_line(
    eo: Eo, scenes: DatasetApi, error_line: Callable[[], str]
) -> None:
    assert eo("search iceberg --scope everywhere") is None
    assert "argument --scope: invalid choice: 'everywhere'" in error_line()
    assert eo("search iceberg --limit 0") is None
    assert error_line().startswith("eolab: invalid_input: limit must be 1..500")
    assert eo("search") is None
    assert "the following arguments are required: TERM" in error_line()
