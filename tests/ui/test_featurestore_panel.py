"""The Feature Store tab in a real JupyterLab and Chromium: list, detail, charts, preview, search,
training datasets, expectations and validations, tag editing.

One feature group (written once per module with the SDK into the lab's workspace) with three
commits and histograms, a training dataset built from it as of its second commit, and a small
validated group with three inserts (accepted, accepted with a warning, rejected); what the
browser draws is checked against what the SDK reports.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from playwright.sync_api import Page, Route, expect

import eolab
from eolab.datasets.api import DatasetApi
from eolab.errors import ValidationFailed
from eolab.featurestore import FeatureGroup, FeatureStore, TrainingDataset
from eolab.featurestore.feature_validation import ValidationWarning

from .conftest import PROJECT, SCHEMA
from .helpers import EolabSidebar, FeatureStorePanel

pytestmark = pytest.mark.timeout(120)

GROUP = "seaicechips"
DATASET = "seaicetrain"
VALIDATED = "checkedchips"
SIDE = 75


def chips(ids: range, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    n = len(ids)
    frame = pd.DataFrame(
        {
            "id": np.array(ids, dtype=np.int64),
            "band_1": [rng.normal(-20, 5, SIDE * SIDE).astype(np.float32) for _ in ids],
            "inc_angle": rng.normal(38.0, 4.0, n),
            "is_iceberg": np.array([i % 2 for i in ids], dtype=np.int64),
            "ts": pd.Timestamp("2024-03-01", tz="UTC") + pd.to_timedelta(list(ids), unit="h"),
        }
    )
    return pa.Table.from_pandas(frame, preserve_index=False)


@pytest.fixture(scope="module")
def fs(ui_workspace: eolab.Workspace, ui_datasets: DatasetApi) -> FeatureStore:
    project = ui_workspace.get_project(PROJECT)
    project.engine = "python"
    return project.get_feature_store()


@pytest.fixture(scope="module")
def feature_group(fs: FeatureStore) -> FeatureGroup:
    """seaicechips v1 (online, histograms): 30 rows; 10 updated + 5 new; ids 0-1 deleted."""
    fg = fs.create_feature_group(
        GROUP,
        version=1,
        description="Sea ice chips for the panel tests",
        primary_key=["id"],
        event_time="ts",
        online_enabled=True,
        statistics_config={"histograms": True},
    )
    fg.save(chips(range(30), seed=0))
    fg.insert(chips(range(20, 35), seed=1))
    fg.commit_delete_record(pd.DataFrame({"id": [0, 1]}))
    fg.add_tag(SCHEMA, {"name": "Fram Strait"})
    return fg


@pytest.fixture(scope="module")
def training_dataset(fs: FeatureStore, feature_group: FeatureGroup) -> TrainingDataset:
    """seaicetrain v1: Parquet, train/test 0.7/0.3, built from seaicechips as of commit 1."""
    td = fs.create_training_dataset(
        DATASET,
        version=1,
        description="Sea ice chips to train on",
        data_format="parquet",
        splits={"train": 0.7, "test": 0.3},
        seed=3,
        label=["is_iceberg"],
        feature_shapes={"band_1": [SIDE, SIDE]},
        statistics_config={"histograms": True},
    )
    td.save(feature_group.select_all().as_of(feature_group.commit_details()[1]["committedOn"]))
    return td


def labelled(ids: range, angle: float = 38.0, label: int | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": list(ids),
            "inc_angle": [angle + (i % 3) for i in ids],
            "is_iceberg": [i % 2 if label is None else label for i in ids],
        }
    )


@pytest.fixture(scope="module")
def validated_group(fs: FeatureStore) -> FeatureGroup:
    """checkedchips v1, validation WARNING: accepted, accepted with a warning, rejected."""
    fs.create_expectation(
        "chip_labels", "labels are 0 or 1", ["is_iceberg"], [{"name": "HAS_MAX", "max": 1}]
    ).save()
    fs.create_expectation(
        "chip_angles",
        "incidence angle within the swath",
        ["inc_angle"],
        [{"name": "HAS_MEAN", "min": 30, "max": 45, "level": "WARNING"}],
    ).save()
    fg = fs.create_feature_group(
        VALIDATED,
        version=1,
        primary_key=["id"],
        statistics_config=False,
        expectations=["chip_labels", "chip_angles"],
        validation_type="WARNING",
    )
    fg.save(labelled(range(10)))
    with pytest.warns(ValidationWarning, match="inc_angle mean"):
        fg.insert(labelled(range(10, 15), angle=60.0))
    with pytest.raises(ValidationFailed):
        fg.insert(labelled(range(15, 20), label=2))
    return fg


@pytest.fixture
def panel(sidebar: EolabSidebar, feature_group: FeatureGroup) -> FeatureStorePanel:
    return sidebar.featurestore()


def test_feature_group_list_detail_and_charts(
    panel: FeatureStorePanel, feature_group: FeatureGroup
) -> None:
    panel.wait_listed(GROUP)
    panel.filter_by("no such group")
    expect(panel.empty).to_contain_text("No feature group matches")
    panel.filter_by("SEA ICE")  # the description matches, case-insensitively
    assert panel.names() == [GROUP]

    panel.open(GROUP, version=1)
    assert panel.badges() == ["offline", "online"]
    assert panel.row_count() == "33"  # 30 + 5 new - 2 deleted
    schema = panel.schema()
    assert list(schema) == ["id", "band_1", "inc_angle", "is_iceberg", "ts"]
    assert schema["id"] == ("int64", ["primary key"])
    assert schema["ts"][1] == ["event time"]
    assert schema["band_1"] == ("list<float>", [])

    details = feature_group.commit_details()
    marks = panel.commit_marks()
    assert [m.commit_id for m in marks] == sorted(details)
    for mark in marks:
        c = details[mark.commit_id]
        assert (mark.inserted, mark.updated, mark.deleted) == (
            c["rowsInserted"],
            c["rowsUpdated"],
            c["rowsDeleted"],
        )
    caption = panel.hover_commit(0)
    assert details[0]["committedOn"].strftime("%Y-%m-%d %H:%M:%S UTC") in caption

    stats = feature_group.get_statistics().stats["columns"]
    shown = panel.statistics("inc_angle")
    assert shown["count"] == str(stats["inc_angle"]["count"])
    assert shown["complete"] == "100.0%"
    assert float(shown["mean"]) == pytest.approx(stats["inc_angle"]["mean"], rel=1e-3)
    bars = panel.histogram("inc_angle")
    assert bars == [b["count"] for b in stats["inc_angle"]["histogram"]]
    assert sum(bars) == 33
    expect(panel.stat("band_1")).to_contain_text("statistics of the array elements")

    rows = panel.preview_rows()
    expect(panel.preview_caption()).to_contain_text("of 33 rows · commit 2")
    assert len(rows) == 20
    assert all(re.fullmatch(r"\[5625\] (-?[\d.]+, ){8}…", r["band_1"]) for r in rows)
    assert panel.tags() == {SCHEMA: {"name": "Fram Strait"}}


def test_choosing_a_commit_moves_statistics_and_preview(
    panel: FeatureStorePanel, feature_group: FeatureGroup
) -> None:
    panel.open(GROUP)
    panel.choose_commit(0)
    expect(panel.statistics_caption()).to_contain_text("30 rows · commit 0")
    expect(panel.preview_caption()).to_contain_text("of 30 rows · commit 0 (as of")
    assert {"0", "1"} <= {r["id"] for r in panel.preview_rows()}  # not deleted yet
    expect(panel.detail.locator(".eolab-fs-as-of")).to_have_value("0")

    panel.preview_as_of(None)  # back to the latest through the picker
    expect(panel.preview_caption()).to_contain_text("of 33 rows · commit 2")
    expect(panel.statistics_caption()).to_contain_text("33 rows · commit 2")

    panel.preview_online()
    online: list[dict[str, Any]] = panel.preview_rows()
    assert len(online) == 20 and all(r["band_1"].startswith("[5625]") for r in online)


def test_search_hit_opens_the_feature_group(
    sidebar: EolabSidebar, feature_group: FeatureGroup
) -> None:
    search = sidebar.search()
    hits = search.search(GROUP, scope="featurestore")
    ref = f"{PROJECT}/{GROUP}/1"
    assert any(h.kind == "featuregroup" and h.ref == ref for h in hits)
    search.open_hit("featuregroup", ref)
    assert sidebar.current_tab() == "Feature Store"
    panel = FeatureStorePanel(sidebar.page, sidebar.panel("featurestore"))
    panel.wait_open(GROUP, version=1)
    expect(panel.crumbs).to_contain_text(GROUP)

    panel.back_to_list()
    panel.wait_listed(GROUP)


def test_a_failed_load_shows_the_server_message_then_recovers(
    page: Page, sidebar: EolabSidebar, feature_group: FeatureGroup
) -> None:
    panel = sidebar.featurestore()
    panel.wait_listed(GROUP)
    busy = {"error": {"code": "catalog_busy", "message": "the catalog is busy", "details": None}}

    def listing(url: str) -> bool:
        return urlparse(url).path.endswith("/featurestore/featuregroups")

    def fail(route: Route) -> None:
        route.fulfill(status=503, content_type="application/json", body=json.dumps(busy))

    page.route(listing, fail)
    panel.refresh()
    expect(panel.list_status).to_have_text("the catalog is busy (catalog_busy)")
    expect(panel.groups).to_have_count(0)
    page.unroute(listing, fail)
    panel.refresh()
    panel.wait_listed(GROUP)
    expect(panel.list_status).to_be_empty()


def test_training_dataset_from_search_with_splits_statistics_preview_and_provenance(
    sidebar: EolabSidebar, training_dataset: TrainingDataset
) -> None:
    td = training_dataset
    search = sidebar.search()
    ref = f"{PROJECT}/{DATASET}/1"
    hits = search.search(DATASET, scope="featurestore")
    assert any(h.kind == "trainingdataset" and h.ref == ref for h in hits)
    search.open_hit("trainingdataset", ref)
    assert sidebar.current_tab() == "Feature Store"
    panel = FeatureStorePanel(sidebar.page, sidebar.panel("featurestore"))
    panel.wait_dataset_open(DATASET, version=1)
    assert panel.dataset_format() == "parquet"

    sizes = td.split_sizes
    assert sum(sizes.values()) == 35  # commit 1: 30 saved + 5 new, nothing deleted yet
    splits = panel.splits()
    assert [(s.name, s.size, s.selected) for s in splits] == [
        ("train", sizes["train"], True),
        ("test", sizes["test"], False),
    ]
    share = splits[0].width / (splits[0].width + splits[1].width)
    assert share == pytest.approx(sizes["train"] / 35, abs=0.03)  # drawn to scale
    features = panel.dataset_features()
    assert features["band_1"] == ("list<float>", "(75, 75)", False)
    assert features["is_iceberg"] == ("int64", "scalar", True)
    assert panel.provenance() == [(GROUP, 1, 1)]

    stats = td.get_statistics("train").stats["columns"]
    expect(panel.td_detail.locator(".eolab-fs-stat-caption")).to_have_text(
        f"{sizes['train']} rows · split train"
    )
    assert panel.dataset_histogram("inc_angle") == [
        b["count"] for b in stats["inc_angle"]["histogram"]
    ]

    panel.choose_split("test")
    test_stats = td.get_statistics("test").stats["columns"]
    assert panel.dataset_histogram("inc_angle") == [
        b["count"] for b in test_stats["inc_angle"]["histogram"]
    ]
    expected = td.read("test").head(20)
    rows = panel.dataset_preview_rows()
    assert [r["id"] for r in rows] == [str(i) for i in expected.id]
    assert all(re.fullmatch(r"\[5625\] (-?[\d.]+, ){8}…", r["band_1"]) for r in rows)

    panel.follow_provenance(GROUP)  # opens the group at the commit the dataset read
    panel.wait_open(GROUP, version=1)
    expect(panel.commit(1)).to_have_class(re.compile(r"\beolab-fs-commit-selected\b"))
    expect(panel.statistics_caption()).to_contain_text("rows · commit 1")


def test_expectations_last_validation_history_report_and_tag_editing(
    panel: FeatureStorePanel, validated_group: FeatureGroup
) -> None:
    fg = validated_group
    panel.open(VALIDATED, version=1)
    assert panel.validation_type() == "WARNING"
    assert panel.expectations() == {
        "chip_labels": [("HAS_MAX", "ERROR", "value ≤ 1")],
        "chip_angles": [("HAS_MEAN", "WARNING", "30 ≤ value ≤ 45")],
    }

    reports = fg.get_validations()
    assert [r.status for r in reports] == ["FAILURE", "WARNING", "SUCCESS"]
    status, counts, colours = panel.last_validation()
    assert (status, counts) == ("FAILURE", reports[0].counts())
    assert counts == {"success": 1, "warning": 0, "failure": 1}
    assert all(f"eolab-fs-count-{kind}" in colours[kind] for kind in counts)
    assert panel.history() == [
        (reports[0].validation_id, "FAILURE", "no commit · rejected"),
        (reports[1].validation_id, "WARNING", "commit 1 · inserted"),
        (reports[2].validation_id, "SUCCESS", "commit 0 · inserted"),
    ]
    expect(panel.report).to_have_attribute("data-validation-id", str(reports[0].validation_id))

    warned = reports[1]
    panel.open_report(warned.validation_id)
    shown = panel.report_results()
    expected = [
        (e.expectation["name"], r.rule.name, r.status, r.value, r.message)
        for e in warned.expectation_results
        for r in e.results
    ]
    assert [(s["expectation"], s["rule"], s["status"]) for s in shown] == [e[:3] for e in expected]
    assert [float(s["value"]) for s in shown] == pytest.approx([e[3] for e in expected])
    assert [s["message"] for s in shown] == [e[4] for e in expected]
    assert ("chip_angles", "HAS_MEAN", "WARNING") in [e[:3] for e in expected]

    tags = panel.tag_editor()
    tags.add_tag(SCHEMA)
    tags.fill_tag({"name": "Kara Sea"})
    tags.save_tag()
    expect(tags.tag_status).to_have_text(f"Tag {SCHEMA} saved.")
    assert fg.get_tags() == {SCHEMA: {"name": "Kara Sea"}}
    assert tags.tag_values() == {SCHEMA: {"name": "Kara Sea"}}
