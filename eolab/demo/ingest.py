"""Demo stage 1: ingest the iceberg chips and a Sentinel-1 style scene into dataset ``eodata``."""

from __future__ import annotations

import tempfile
from pathlib import Path

from eolab.demo.common import (
    CHIPS,
    DATASET,
    LOCATION_POLAR,
    SCENE_PIXELS,
    SEED_TAG,
    DemoRun,
    described,
    timed,
)


def stage_ingest(run: DemoRun) -> None:
    """Stage 1: dataset ``eodata`` with the iceberg chips (train.json) and a Sentinel-1 style
    scene, tagged ``location_polar`` and found by search."""
    from eolab.eo.sar import iceberg_dataset, to_json
    from eolab.eo.scene import synthetic_s1_scene

    ws, summary = run.ws, run.summary
    datasets = run.project.get_dataset_api()
    timed(
        summary,
        "1 ingest",
        "dataset",
        lambda: datasets.create(DATASET, "Sentinel-1 SAR, Arctic").name,
    )
    if not any(s.name == "location_polar" for s in ws.list_tag_schemas()):
        ws.create_tag_schema("location_polar", LOCATION_POLAR, "where an EO dataset was acquired")
    with tempfile.TemporaryDirectory() as tmp:
        pixels = SCENE_PIXELS[run.size]
        scene = Path(tmp) / "s1_scene.tif"
        timed(
            summary,
            "1 ingest",
            "generate scene",
            lambda: described(
                synthetic_s1_scene(scene, pixels, pixels, seed=0), f"{pixels}x{pixels} px"
            ),
        )
        timed(
            summary,
            "1 ingest",
            "upload scene",
            lambda: f"{datasets.upload(scene, DATASET, progress=False).size / 1e6:.1f} MB",
        )
        chips = Path(tmp) / "train.json"
        count = CHIPS[run.size]
        timed(
            summary,
            "1 ingest",
            "generate chips",
            lambda: described(to_json(iceberg_dataset(count, seed=0), chips), f"{count} chips"),
        )
        timed(
            summary,
            "1 ingest",
            "upload train.json",
            lambda: f"{datasets.upload(chips, DATASET, progress=False).size / 1e6:.1f} MB",
        )
    raster = datasets.preview(f"{DATASET}/s1_scene.tif")
    summary.add(
        "1 ingest",
        "preview scene",
        f"{raster['bands']} bands {raster['width']}x{raster['height']} {raster['crs']}",
        0.0,
    )
    timed(
        summary,
        "1 ingest",
        "tag location_polar",
        lambda: str(
            datasets.add_tag(DATASET, "location_polar", SEED_TAG)["location_polar"]["location"]
        ),
    )
    hits = timed(
        summary,
        "1 ingest",
        "search 'eodata'",
        lambda: ", ".join(
            sorted({f"{h.kind}:{h.name}" for h in ws.search(DATASET).hits if h.kind == "dataset"})
        ),
    )
    if "dataset:eodata" not in hits:
        raise AssertionError(f"search did not find the dataset: {hits}")
