"""``eolab demo``: the demonstrator pipeline, stage by stage, in a fresh demo workspace.

Stages arrive with their issues (DESIGN's 'The demonstrator pipeline'); this module runs the
ones that exist and prints one summary table.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eolab.errors import Conflict, InvalidInput
from eolab.projects import Project
from eolab.workspace import Workspace

PROJECT = "ExtremeEarth"
DATASET = "eodata"
MARKER = ".eolab-demo"
SIZES = ("quick", "default", "full")
LOCATION_POLAR = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "projects": {"type": "array", "items": {"type": "string"}},
        "location": {"type": "string"},
    },
    "required": ["name"],
    "additionalProperties": False,
}
SEED_TAG = {"name": DATASET, "projects": [PROJECT], "location": "Arctic Ocean"}
# Scene edge in pixels, and number of iceberg chips, for each demo size.
SCENE_PIXELS = {"quick": 384, "default": 2048, "full": 8192}
CHIPS = {"quick": 64, "default": 1604, "full": 1604}


@dataclass
class Summary:
    rows: list[tuple[str, str, str, float]] = field(default_factory=list)

    def add(self, stage: str, step: str, result: str, seconds: float) -> None:
        self.rows.append((stage, step, result, seconds))

    def render(self) -> str:
        header = ("stage", "step", "result", "seconds")
        cells = [header] + [(a, b, c, f"{d:.2f}") for a, b, c, d in self.rows]
        widths = [max(len(str(r[i])) for r in cells) for i in range(4)]
        line = "+".join("-" * (w + 2) for w in widths)
        out = [line]
        for i, row in enumerate(cells):
            out.append("|".join(f" {str(v).ljust(w)} " for v, w in zip(row, widths, strict=True)))
            if i == 0:
                out.append(line)
        out.append(line)
        return "\n".join(out)


def fresh_home(home: Path) -> Path:
    """Empty the demo workspace, refusing to touch a folder that is not one."""
    home = home.expanduser().resolve()
    if home.exists() and any(home.iterdir()) and not (home / MARKER).exists():
        raise Conflict(f"{home} is not empty and not an eolab demo workspace; pick another --home")
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    (home / MARKER).write_text("created by eolab demo; deleted by the next demo run\n")
    return home


def _described(path: Path, what: str) -> str:
    return f"{what}, {path.stat().st_size / 1e6:.1f} MB"


def _timed(summary: Summary, stage: str, step: str, fn: Callable[[], str]) -> Any:
    start = time.perf_counter()
    result = fn()
    summary.add(stage, step, result, time.perf_counter() - start)
    return result


@dataclass
class DemoRun:
    """What the stages share: where they run, how big, and what earlier stages made."""

    ws: Workspace
    project: Project
    size: str
    summary: Summary
    artifacts: dict[str, Any] = field(default_factory=dict)


def stage_ingest(run: DemoRun) -> None:
    """Stage 1: dataset ``eodata`` with the iceberg chips (train.json) and a Sentinel-1 style
    scene, tagged ``location_polar`` and found by search."""
    from eolab.eo.sar import iceberg_dataset, to_json
    from eolab.eo.scene import synthetic_s1_scene

    ws, summary = run.ws, run.summary
    datasets = run.project.get_dataset_api()
    _timed(
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
        _timed(
            summary,
            "1 ingest",
            "generate scene",
            lambda: _described(
                synthetic_s1_scene(scene, pixels, pixels, seed=0), f"{pixels}x{pixels} px"
            ),
        )
        _timed(
            summary,
            "1 ingest",
            "upload scene",
            lambda: f"{datasets.upload(scene, DATASET, progress=False).size / 1e6:.1f} MB",
        )
        chips = Path(tmp) / "train.json"
        count = CHIPS[run.size]
        _timed(
            summary,
            "1 ingest",
            "generate chips",
            lambda: _described(to_json(iceberg_dataset(count, seed=0), chips), f"{count} chips"),
        )
        _timed(
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
    _timed(
        summary,
        "1 ingest",
        "tag location_polar",
        lambda: str(
            datasets.add_tag(DATASET, "location_polar", SEED_TAG)["location_polar"]["location"]
        ),
    )
    hits = _timed(
        summary,
        "1 ingest",
        "search 'eodata'",
        lambda: ", ".join(
            sorted({f"{h.kind}:{h.name}" for h in ws.search(DATASET).hits if h.kind == "dataset"})
        ),
    )
    if "dataset:eodata" not in hits:
        raise AssertionError(f"search did not find the dataset: {hits}")


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


STAGES: list[tuple[str, Callable[[DemoRun], None]]] = [
    ("ingest", stage_ingest),
    ("preprocess", stage_preprocess),
]


def run_demo(home: Path, size: str = "default", echo: Callable[[str], None] = print) -> Summary:
    """Run every available stage in a fresh workspace at ``home`` and print the summary."""
    if size not in SIZES:
        raise InvalidInput(f"demo size must be one of {SIZES}, got {size!r}")
    from tqdm.auto import tqdm

    home = fresh_home(home)
    summary = Summary()
    ws = Workspace.open(home)
    project = ws.create_project(PROJECT, "Ship or iceberg, from Sentinel-1 SAR chips")
    run = DemoRun(ws, project, size, summary)
    for _name, stage in tqdm(STAGES, desc=f"eolab demo ({size})", unit="stage"):
        stage(run)
    echo(summary.render())
    echo(f"workspace: {home}  (open it with: make lab, or eolab lab --home {home})")
    return summary
