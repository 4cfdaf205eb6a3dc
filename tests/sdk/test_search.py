"""Free-text search: what it finds, who sees it, highlights, paging, and literal terms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import eolab
from eolab import errors
from eolab.datasets.api import DatasetApi
from eolab.datasets.tags import TagSchemaInfo
from eolab.search import SearchHit, SearchResult


def put(api: DatasetApi, tmp_path: Path, dest: str, name: str) -> str:
    (tmp_path / name).write_text("x")
    return api.upload(tmp_path / name, dest, progress=False).path


def refs(result: SearchResult) -> set[tuple[str, str]]:
    return {(h.kind, h.ref) for h in result.hits}


def hit(result: SearchResult, kind: str, ref: str) -> SearchHit:
    return next(h for h in result.hits if (h.kind, h.ref) == (kind, ref))


@pytest.fixture
def tagged(
    datasets: DatasetApi,
    polar_schema: TagSchemaInfo,
    polar_value: dict[str, Any],
    tmp_path: Path,
) -> DatasetApi:
    """eodata, tagged with the seed example, holding raw/iceberg_scene.tif."""
    datasets.mkdir("eodata/raw")
    put(datasets, tmp_path, "eodata/raw", "iceberg_scene.tif")
    datasets.add_tag("eodata", "location_polar", polar_value)
    return datasets


def test_finds_projects_datasets_files_and_tag_values(
    workspace: eolab.Workspace, tagged: DatasetApi
) -> None:
    assert refs(workspace.search("ExtremeEarth")) >= {("project", "ExtremeEarth")}
    assert ("dataset", "ExtremeEarth/eodata") in refs(workspace.search("eodata"))
    assert refs(workspace.search("iceberg")) == {
        ("file", "ExtremeEarth/eodata/raw/iceberg_scene.tif")
    }
    assert ("file", "ExtremeEarth/eodata/raw") in refs(workspace.search("raw"))

    arctic = workspace.search("Arctic")
    assert refs(arctic) == {("dataset", "ExtremeEarth/eodata")}
    assert arctic.total == 1
    found = arctic.hits[0]
    assert (found.project, found.name) == ("ExtremeEarth", "eodata")


def test_hits_carry_highlights_covering_the_matched_word(
    workspace: eolab.Workspace, tagged: DatasetApi
) -> None:
    found = workspace.search("arct").hits[0]  # a prefix matches the whole word
    [highlight] = found.highlights
    assert highlight.field == "tags"
    assert [highlight.text[a:b] for a, b in highlight.spans] == ["Arctic"]

    scene = hit(workspace.search("iceberg"), "file", "ExtremeEarth/eodata/raw/iceberg_scene.tif")
    by_field = {h.field: [h.text[a:b] for a, b in h.spans] for h in scene.highlights}
    # FTS5 cuts words at '_': the span covers the word that matched, not the whole name
    assert by_field == {"name": ["iceberg"], "description": ["iceberg"]}


def test_accented_term_is_highlighted_like_the_index_matched_it(
    workspace: eolab.Workspace, tagged: DatasetApi
) -> None:
    result = workspace.search("Océan")
    assert result.total == 1
    [highlight] = result.hits[0].highlights
    assert [highlight.text[a:b] for a, b in highlight.spans] == ["Ocean"]


def test_second_part_of_a_snake_case_name_is_highlighted(
    workspace: eolab.Workspace, tagged: DatasetApi
) -> None:
    result = workspace.search("scene")
    scene = hit(result, "file", "ExtremeEarth/eodata/raw/iceberg_scene.tif")
    spans = {h.field: [h.text[a:b] for a, b in h.spans] for h in scene.highlights}
    assert spans.get("name") == ["scene"]


def test_all_words_must_match(workspace: eolab.Workspace, tagged: DatasetApi) -> None:
    assert refs(workspace.search("arctic ocean")) == {("dataset", "ExtremeEarth/eodata")}
    assert workspace.search("arctic pacific").total == 0


def test_files_of_a_non_searchable_dataset_are_not_indexed(
    workspace: eolab.Workspace, datasets: DatasetApi, tmp_path: Path
) -> None:
    datasets.create("private", searchable=False)
    put(datasets, tmp_path, "private", "hidden_granule.nc")
    datasets.mkdir("private/hidden_folder")
    assert workspace.search("hidden").total == 0
    assert refs(workspace.search("private")) == {("dataset", "ExtremeEarth/private")}
    put(datasets, tmp_path, "eodata", "hidden_public.nc")
    assert refs(workspace.search("hidden")) == {("file", "ExtremeEarth/eodata/hidden_public.nc")}


def test_index_follows_remove_move_copy_and_delete(
    workspace: eolab.Workspace, datasets: DatasetApi, tmp_path: Path
) -> None:
    path = put(datasets, tmp_path, "eodata", "granule.nc")
    datasets.move(path, "eodata/swath.nc")
    assert workspace.search("granule").total == 0
    assert refs(workspace.search("swath")) == {("file", "ExtremeEarth/eodata/swath.nc")}
    datasets.copy("eodata/swath.nc", "eodata/swath_copy.nc")
    assert workspace.search("swath").total == 2
    datasets.remove("eodata/swath.nc")
    assert refs(workspace.search("swath")) == {("file", "ExtremeEarth/eodata/swath_copy.nc")}
    datasets.delete("eodata")
    assert workspace.search("swath").total == 0
    assert workspace.search("eodata").total == 0


def test_scope_filters_kinds(workspace: eolab.Workspace, datasets: DatasetApi) -> None:
    datasets.create("ExtremeEarth_raw")
    everything = workspace.search("ExtremeEarth")
    assert {h.kind for h in everything.hits} == {"project", "dataset"}
    assert {h.kind for h in workspace.search("ExtremeEarth", scope="projects").hits} == {"project"}
    assert {h.kind for h in workspace.search("ExtremeEarth", scope="datasets").hits} == {"dataset"}
    assert workspace.search("ExtremeEarth", scope="featurestore").total == 0
    assert workspace.search("ExtremeEarth", scope="experiments").total == 0
    assert workspace.search("ExtremeEarth", scope="models").total == 0


def test_project_filter(workspace: eolab.Workspace, datasets: DatasetApi) -> None:
    workspace.create_project("Svalbard").get_dataset_api().create("eodata")
    assert workspace.search("eodata").total == 2
    only = workspace.search("eodata", project="Svalbard")
    assert refs(only) == {("dataset", "Svalbard/eodata")}
    with pytest.raises(errors.NotFound):
        workspace.search("eodata", project="Nowhere")


def test_other_users_see_only_their_projects_hits(
    workspace: eolab.Workspace, tagged: DatasetApi
) -> None:
    bob = workspace.as_user("bob")
    bob.create_project("Arctic_Bob")
    assert refs(bob.search("arctic")) == {("project", "Arctic_Bob")}
    assert bob.search("eodata").total == 0
    with pytest.raises(errors.Forbidden):
        bob.search("eodata", project="ExtremeEarth")
    # alice is admin, but not a member of bob's project: she does not see it either
    assert refs(workspace.search("arctic")) == {("dataset", "ExtremeEarth/eodata")}

    tagged.project.add_member("bob")
    assert ("dataset", "ExtremeEarth/eodata") in refs(bob.search("arctic"))


@pytest.mark.parametrize(
    "term",
    [
        '"',
        "-",
        "*",
        "NEAR",
        "AND",
        'eod"ata*',
        "a OR b",
        "(",
        ")",
        ":",
        "^",
        "NEAR(eodata, 2)",
        "name:eodata",
        "eodata NOT arctic",
        "{name}",
        "''",
        "",
        "   ",
        "\x00",
    ],
)
def test_fts5_syntax_is_taken_literally_and_never_raises(
    workspace: eolab.Workspace, tagged: DatasetApi, term: str
) -> None:
    result = workspace.search(term)
    assert isinstance(result, SearchResult)
    assert result.term == term
    assert result.total == len(result.hits)


def test_fts5_operators_are_plain_words(workspace: eolab.Workspace, tagged: DatasetApi) -> None:
    dataset = ("dataset", "ExtremeEarth/eodata")
    assert dataset in refs(workspace.search("eodata*"))
    assert dataset in refs(workspace.search("-eodata"))  # not a NOT
    assert workspace.search("eodata OR pacific").total == 0  # OR is a word, not a union
    assert workspace.search("eodata NOT arctic").total == 0  # NOT is a word too
    assert workspace.search('"').total == 0


def test_limit_and_offset_page_through_hits(
    workspace: eolab.Workspace, project: eolab.Project
) -> None:
    api = project.get_dataset_api()
    for letter in "abcde":
        api.create(f"scene_{letter}")
    pages = [workspace.search("scene", limit=2, offset=o) for o in (0, 2, 4, 6)]
    assert [p.total for p in pages] == [5, 5, 5, 5]
    assert [len(p.hits) for p in pages] == [2, 2, 1, 0]
    seen = [h.name for p in pages for h in p.hits]
    assert sorted(seen) == [f"scene_{x}" for x in "abcde"]  # no hit twice, none missing


@pytest.mark.parametrize(
    ("kwargs"),
    [
        {"scope": "files"},
        {"scope": ""},
        {"limit": 0},
        {"limit": 501},
        {"offset": -1},
    ],
)
def test_bad_search_arguments_raise_invalid_input(
    workspace: eolab.Workspace, project: eolab.Project, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(errors.InvalidInput):
        workspace.search("ExtremeEarth", **kwargs)


def test_non_string_term_raises_invalid_input(workspace: eolab.Workspace) -> None:
    with pytest.raises(errors.InvalidInput):
        workspace.search(42)  # type: ignore[arg-type]


def test_failed_dataset_create_leaves_no_search_entry(
    workspace: eolab.Workspace, datasets: DatasetApi
) -> None:
    (datasets.root / "ghost_data").mkdir()
    with pytest.raises(errors.Conflict):
        datasets.create("ghost_data")
    assert workspace.search("ghost").total == 0
    assert [d.name for d in datasets.list()] == ["eodata"]


def test_index_entry_is_rolled_back_with_its_transaction(
    workspace: eolab.Workspace, datasets: DatasetApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_mkdir = Path.mkdir

    def failing_mkdir(self: Path, *args: Any, **kwargs: Any) -> None:
        if self.name == "phantom_data":
            raise PermissionError("disk says no")
        real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", failing_mkdir)
    with pytest.raises(PermissionError):
        datasets.create("phantom_data")  # fails after the index entry was written
    monkeypatch.undo()
    assert workspace.search("phantom").total == 0
    assert [d.name for d in datasets.list()] == ["eodata"]
