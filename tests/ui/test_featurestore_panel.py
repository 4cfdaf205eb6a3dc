"""The Feature Store tab in a real JupyterLab and Chromium: list, detail, charts, preview, search.

One feature group (written once per session with the SDK into the lab's workspace) with three
commits and histograms; what the browser draws is checked against what the SDK reports.
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
from eolab.featurestore import FeatureGroup

from .conftest import PROJECT, SCHEMA
from .helpers import EolabSidebar, FeatureStorePanel

pytestmark = pytest.mark.timeout(120)

GROUP = "seaicechips"
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
def feature_group(ui_workspace: eolab.Workspace, ui_datasets: DatasetApi) -> FeatureGroup:
    """seaicechips v1 (online, histograms): 30 rows; 10 updated + 5 new; ids 0-1 deleted."""
    project = ui_workspace.get_project(PROJECT)
    project.engine = "python"
    fs = project.get_feature_store()
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
