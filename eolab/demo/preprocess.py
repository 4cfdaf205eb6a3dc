"""Demo stage 2: GDAL pre-processing of the scene and ``band_avg`` of the chips."""

from __future__ import annotations

import time

from eolab.demo.common import DATASET, DemoRun


def stage_preprocess(run: DemoRun) -> None:
    """Stage 2: undersample, calibrate and tile the scene into 75x75 chips on the project's
    engine; read the chips back and add ``band_avg``."""
    from eolab.eo.preprocess import preprocess
    from eolab.eo.statoil import add_band_avg, load_statoil

    summary = run.summary
    engine = run.project.get_engine()
    result = preprocess(
        run.project,
        f"{DATASET}/s1_scene.tif",
        undersample=2,
        calibrate=True,
        tile=75,
        engine=engine,
        progress=False,
    )
    for step in ("undersample", "calibrate", "tile"):
        what = (
            f"{result.chips} chips of 75x75 ({engine.name} engine)"
            if step == "tile"
            else result.outputs[step]
        )
        summary.add("2 preprocess", step, what, result.seconds[step])
    datasets = run.project.get_dataset_api()
    start = time.perf_counter()
    frame = load_statoil(datasets.local_path(f"{DATASET}/train.json"))
    summary.add(
        "2 preprocess", "load train.json", f"{len(frame)} records", time.perf_counter() - start
    )
    with_avg = add_band_avg(frame)
    icebergs = int(with_avg["is_iceberg"].sum())
    summary.add(
        "2 preprocess",
        "band_avg",
        f"{len(with_avg)} records, {icebergs} icebergs, {int((with_avg['inc_angle'] == 'na').sum())} angles 'na'",
        0.0,
    )
    run.artifacts["iceberg_frame"] = with_avg
    run.artifacts["scene_chips"] = result.outputs["tile"]
