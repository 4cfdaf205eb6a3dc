"""The eolab sidebar in a real JupyterLab and Chromium: datasets, uploads, tags and search.

What the browser shows is checked against what the SDK sees on the server side.
"""

from __future__ import annotations

import io
import os
import re
import uuid
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, Route, expect

import eolab
from eolab.datasets.api import DatasetApi

from .conftest import PROJECT, SCHEMA
from .helpers import DatasetsPanel, EolabSidebar

pytestmark = pytest.mark.timeout(120)


def put(api: DatasetApi, path: str, data: bytes) -> None:
    """Write a file on the server through the SDK."""
    api.upload_stream(io.BytesIO(data), path, len(data))


# ---- sidebar ----------------------------------------------------------------------------------


def test_sidebar_shows_project_and_panels(sidebar: EolabSidebar) -> None:
    assert sidebar.project == PROJECT
    assert PROJECT in sidebar.projects()
    labels = sidebar.tab_labels()
    assert labels[:2] == ["Datasets", "Search"]
    assert sidebar.current_tab() == "Datasets"
    panel = sidebar.datasets()
    assert panel.breadcrumb() == [PROJECT]
    sidebar.search()
    assert sidebar.current_tab() == "Search"


# ---- datasets -----------------------------------------------------------------------------------


def test_dataset_made_with_the_sdk_is_listed_and_browsable(
    dataset: str, datasets_panel: DatasetsPanel, ui_datasets: DatasetApi
) -> None:
    ui_datasets.mkdir(f"{dataset}/raw")
    put(ui_datasets, f"{dataset}/raw/scene.tif", b"II*\x00")
    datasets_panel.refresh()
    row = datasets_panel.wait_listed(dataset)
    expect(row.locator(".eolab-meta")).to_have_text(f"Sea ice scenes for {dataset}")
    assert "eodata" in datasets_panel.names()

    datasets_panel.open(dataset)
    datasets_panel.open("raw")
    assert datasets_panel.breadcrumb() == [PROJECT, dataset, "raw"]
    assert datasets_panel.names() == ["scene.tif"]
    datasets_panel.go_to(dataset)
    assert datasets_panel.names() == ["raw"]
    datasets_panel.go_to("")
    datasets_panel.wait_listed(dataset)


def test_upload_through_the_ui_stores_identical_bytes(
    dataset: str, datasets_panel: DatasetsPanel, ui_datasets: DatasetApi
) -> None:
    big = os.urandom(2 * 1024 * 1024 + 12_345)  # three 1 MiB chunks
    small = b"id,value\n1,0.5\n"
    datasets_panel.open(dataset)

    datasets_panel.upload({"scene.bin": big})  # the Upload button's file chooser
    datasets_panel.upload({"labels.csv": small}, via_button=False)  # the hidden input

    assert set(datasets_panel.names()) == {"scene.bin", "labels.csv"}
    expect(datasets_panel.row("scene.bin").locator(".eolab-meta")).to_have_text("2.0 MB")
    assert ui_datasets.local_path(f"{dataset}/scene.bin").read_bytes() == big
    assert ui_datasets.local_path(f"{dataset}/labels.csv").read_bytes() == small


def test_new_folder_then_delete_after_confirmation(
    dataset: str, datasets_panel: DatasetsPanel, ui_datasets: DatasetApi
) -> None:
    datasets_panel.open(dataset)
    datasets_panel.new_folder("raw")
    datasets_panel.wait_listed("raw")
    assert [(f.name, f.is_dir) for f in ui_datasets.ls(dataset)] == [("raw", True)]

    text = datasets_panel.delete("raw", confirm=False)
    assert f"Delete {dataset}/raw?" in text
    datasets_panel.refresh()
    datasets_panel.wait_listed("raw")
    assert ui_datasets.exists(f"{dataset}/raw")

    datasets_panel.delete("raw")
    assert not ui_datasets.exists(f"{dataset}/raw")
    expect(datasets_panel.list.locator(".eolab-empty")).to_be_visible()


def test_csv_preview_shows_its_first_lines(
    dataset: str, datasets_panel: DatasetsPanel, ui_datasets: DatasetApi
) -> None:
    lines = ["scene,lat,lon"] + [
        f"S1_{i:03d},{70 + i / 100:.2f},{-20 + i / 10:.1f}" for i in range(100)
    ]
    put(ui_datasets, f"{dataset}/scenes.csv", ("\n".join(lines) + "\n").encode())
    datasets_panel.open(dataset)
    datasets_panel.select("scenes.csv")

    shown = datasets_panel.preview_text().splitlines()
    assert shown == lines[:20]
    expect(datasets_panel.preview.locator(".eolab-preview-kind")).to_have_text(
        re.compile(r"^text · ")
    )


def test_new_dataset_dialog_shows_the_server_error_then_creates(
    datasets_panel: DatasetsPanel, ui_datasets: DatasetApi
) -> None:
    before = [d.name for d in ui_datasets.list()]
    datasets_panel.new_dataset("bad name!")
    expect(datasets_panel.error).to_contain_text("dataset name must match")
    expect(datasets_panel.error).to_contain_text("'bad name!'")
    assert [d.name for d in ui_datasets.list()] == before

    name = f"ui{uuid.uuid4().hex[:10]}"
    datasets_panel.new_dataset(name)
    datasets_panel.wait_listed(name)
    expect(datasets_panel.error).to_have_count(0)
    assert name in [d.name for d in ui_datasets.list()]


# ---- tags ---------------------------------------------------------------------------------------


def test_tag_schema_violation_is_shown_next_to_the_field_and_nothing_is_written(
    dataset: str, datasets_panel: DatasetsPanel, ui_datasets: DatasetApi
) -> None:
    datasets_panel.open(dataset)
    datasets_panel.add_tag(SCHEMA)
    expect(datasets_panel.tag_field("name").locator(".eolab-required-mark")).to_be_visible()
    datasets_panel.fill_tag({"location": "Arctic Ocean"})  # the required name is left empty
    datasets_panel.save_tag(accepted=False)

    expect(datasets_panel.field_error("name")).to_have_text("'name' is a required property")
    expect(datasets_panel.form_error).to_contain_text("violates schema 'location_polar'")
    expect(datasets_panel.field_error("location")).to_have_text("")
    assert ui_datasets.get_tags(dataset) == {}
    assert datasets_panel.tag_values() == {}


def test_valid_tag_is_saved_shown_and_editable(
    dataset: str, datasets_panel: DatasetsPanel, ui_datasets: DatasetApi
) -> None:
    datasets_panel.open(dataset)
    datasets_panel.add_tag(SCHEMA)
    datasets_panel.fill_tag(
        {"name": dataset, "projects": "ExtremeEarth, PolarTEP", "location": "Arctic Ocean"}
    )
    datasets_panel.save_tag()

    expect(datasets_panel.tag_status).to_have_text(f"Tag {SCHEMA} saved.")
    value = {"name": dataset, "projects": ["ExtremeEarth", "PolarTEP"], "location": "Arctic Ocean"}
    assert datasets_panel.tag_values() == {SCHEMA: value}
    assert ui_datasets.get_tags(dataset) == {SCHEMA: value}

    datasets_panel.edit_tag(SCHEMA)
    expect(datasets_panel.tag_field("projects").locator("input")).to_have_value(
        "ExtremeEarth, PolarTEP"
    )
    datasets_panel.fill_tag({"location": "Fram Strait"})
    datasets_panel.save_tag()
    expect(datasets_panel.tag_status).to_have_text(f"Tag {SCHEMA} saved.")
    assert ui_datasets.get_tags(dataset)[SCHEMA]["location"] == "Fram Strait"


# ---- search -------------------------------------------------------------------------------------


def test_search_finds_the_dataset_and_a_hit_opens_it(dataset: str, sidebar: EolabSidebar) -> None:
    search = sidebar.search()
    hits = search.search(dataset, scope="datasets")
    ref = f"{PROJECT}/{dataset}"
    found = [h for h in hits if h.kind == "dataset" and h.ref == ref]
    assert found, hits
    assert found[0].name == dataset
    assert set(found[0].marked) == {dataset}  # in the name and in the description
    expect(search.hit("dataset", ref).locator(".eolab-hit-name mark")).to_have_text(dataset)

    search.open_hit("dataset", ref)
    assert sidebar.current_tab() == "Datasets"
    panel = DatasetsPanel(sidebar.page, sidebar.panel("datasets"))
    panel.wait_at(dataset)
    assert panel.breadcrumb() == [PROJECT, dataset]


def test_search_file_hit_opens_its_folder_with_the_file_selected(
    dataset: str, sidebar: EolabSidebar, ui_datasets: DatasetApi
) -> None:
    ui_datasets.mkdir(f"{dataset}/raw")
    put(ui_datasets, f"{dataset}/raw/{dataset}_notes.txt", b"first line\nsecond line\n")
    search = sidebar.search()
    ref = f"{PROJECT}/{dataset}/raw/{dataset}_notes.txt"
    search.search(f"{dataset}_notes", scope="datasets")
    search.open_hit("file", ref)

    panel = DatasetsPanel(sidebar.page, sidebar.panel("datasets"))
    panel.wait_at(f"{dataset}/raw")
    expect(panel.row(f"{dataset}_notes.txt")).to_have_class(re.compile(r"\beolab-selected\b"))
    assert panel.preview_text().splitlines() == ["first line", "second line"]


# ---- markup in user-provided names ----------------------------------------------------------


def test_markup_in_names_and_descriptions_is_shown_as_text(
    page: Page, sidebar: EolabSidebar, ui_datasets: DatasetApi
) -> None:
    name = f"html{uuid.uuid4().hex[:10]}"
    payload = '<img src=x onerror="window.__pwned=1">'
    ui_datasets.create(name, description=payload)
    # '/' separates folders, so the file "<b>bold</b>.txt" is "b>.txt" in the folder "<b>bold<"
    ui_datasets.mkdir(f"{name}/<b>bold<")
    put(ui_datasets, f"{name}/<b>bold</b>.txt", b"bold")
    put(ui_datasets, f"{name}/<b>bold.txt", b"bold")

    panel = sidebar.datasets()
    panel.refresh()
    expect(panel.wait_listed(name).locator(".eolab-meta")).to_have_text(payload)
    panel.open(name)
    expect(panel.row("<b>bold.txt").locator(".eolab-name")).to_have_text("<b>bold.txt")
    panel.open("<b>bold<")
    assert panel.breadcrumb() == [PROJECT, name, "<b>bold<"]
    panel.select("b>.txt")
    expect(panel.preview.locator(".eolab-preview-text")).to_have_text("bold")
    expect(panel.root.locator("img, b")).to_have_count(0)

    search = sidebar.search()
    search.search(name)
    hit = search.hit("dataset", f"{PROJECT}/{name}")
    expect(hit.locator(".eolab-hit-description")).to_have_text(payload)
    expect(search.root.locator("img, b")).to_have_count(0)
    expect(sidebar.root.locator("img, b")).to_have_count(0)
    assert page.evaluate("() => window.__pwned") is None


# ---- concurrent refreshes (the reported "edit button never stable" flake) -------------------


def hold_back(page: Page, matches: Callable[[str], bool], ms: int) -> list[str]:
    """Delay the first eolab API request whose URL ``matches`` by ``ms`` milliseconds.

    Returns the list that receives the held request's URL, for ``page.expect_response``.
    """
    held: list[str] = []

    def handle(route: Route) -> None:
        if not held and matches(route.request.url):
            held.append(route.request.url)
            page.wait_for_timeout(ms)
        route.continue_()

    page.route("**/eolab/api/v1/**", handle)
    return held


def test_a_slow_preview_never_renders_over_the_next_selection(
    dataset: str, datasets_panel: DatasetsPanel, ui_datasets: DatasetApi
) -> None:
    put(ui_datasets, f"{dataset}/a.txt", b"from a\n")
    put(ui_datasets, f"{dataset}/b.txt", b"from b\n")
    ui_datasets.add_tag(f"{dataset}/a.txt", SCHEMA, {"name": "a"})
    datasets_panel.open(dataset)
    page = datasets_panel.page
    held = hold_back(page, lambda url: "/a.txt?preview=1" in url, 800)

    with page.expect_response(lambda r: r.url in held):
        datasets_panel.row("a.txt").locator(".eolab-name").click()
        datasets_panel.select("b.txt")
        expect(datasets_panel.preview.locator(".eolab-preview-text")).to_have_text("from b")
    page.wait_for_timeout(200)  # a's late answer has had its chance to render

    expect(datasets_panel.tags).to_have_count(1)
    expect(datasets_panel.preview).to_have_count(1)
    expect(datasets_panel.preview.locator(".eolab-preview-text")).to_have_text("from b")
    assert datasets_panel.tag_values() == {}  # b's tags, not a's


def test_a_slow_refresh_never_duplicates_the_listing(
    dataset: str, datasets_panel: DatasetsPanel, ui_datasets: DatasetApi
) -> None:
    put(ui_datasets, f"{dataset}/a.txt", b"a")
    put(ui_datasets, f"{dataset}/b.txt", b"b")
    ui_datasets.add_tag(dataset, SCHEMA, {"name": dataset})
    datasets_panel.open(dataset)
    page = datasets_panel.page
    listing = f"/datasets/{dataset}/files?"
    held = hold_back(page, lambda url: listing in url, 800)

    with page.expect_response(lambda r: r.url in held) as first:
        datasets_panel.refresh()
        page.wait_for_timeout(100)
        datasets_panel.refresh()
        datasets_panel.wait_listed("b.txt")
    assert first.value.ok
    page.wait_for_timeout(200)

    assert datasets_panel.names() == ["a.txt", "b.txt"]
    expect(datasets_panel.tags).to_have_count(1)
    datasets_panel.edit_tag(SCHEMA)
    expect(datasets_panel.tag_field("name").locator("input")).to_have_value(dataset)


# ---- a project created after the page loaded --------------------------------------------------


@pytest.fixture
def late_project(ui_workspace: eolab.Workspace, sidebar: EolabSidebar) -> Iterator[str]:
    """A second project, made after the sidebar loaded, with dataset ``d`` and ``d/<name>.txt``."""
    name = f"Late{uuid.uuid4().hex[:8]}"
    api = ui_workspace.create_project(name).get_dataset_api()
    api.create("d")
    put(api, f"d/{name}.txt", b"late\n")
    yield name
    ui_workspace.delete_project(name, confirm=name)


def open_late_file_hit(sidebar: EolabSidebar, project: str) -> DatasetsPanel:
    search = sidebar.search()
    search.search(project, scope="datasets")
    search.open_hit("file", f"{project}/d/{project}.txt")
    panel = DatasetsPanel(sidebar.page, sidebar.panel("datasets"))
    panel.wait_at("d")
    return panel


def test_search_hit_in_another_project_shows_that_project(
    late_project: str, sidebar: EolabSidebar
) -> None:
    panel = open_late_file_hit(sidebar, late_project)
    assert panel.breadcrumb() == [late_project, "d"]
    assert panel.names() == [f"{late_project}.txt"]
    assert panel.preview_text() == "late"
    expect(panel.tags).to_have_count(1)


def test_search_hit_in_a_new_project_selects_it_in_the_picker(
    late_project: str, sidebar: EolabSidebar
) -> None:
    open_late_file_hit(sidebar, late_project)
    expect(sidebar.picker).to_have_value(late_project, timeout=1500)
