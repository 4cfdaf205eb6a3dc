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

import numpy as np

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
# Scene edge in pixels for each demo size.
SCENE_PIXELS = {"quick": 128, "default": 1024, "full": 4096}


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


def write_small_scene(path: Path, pixels: int, seed: int = 0) -> Path:
    """A two-band (HH, HV) dB GeoTIFF in polar stereographic coordinates, speckled sea."""
    import rasterio
    from affine import Affine

    rng = np.random.default_rng(seed)
    intensity = rng.gamma(shape=4.0, scale=1 / 4.0, size=(2, pixels, pixels)).astype("float32")
    db = 10 * np.log10(intensity) + np.array([-25.0, -30.0], dtype="float32")[:, None, None]
    profile = {
        "driver": "GTiff",
        "width": pixels,
        "height": pixels,
        "count": 2,
        "dtype": "float32",
        "crs": "EPSG:3413",
        "transform": Affine(40.0, 0.0, -300_000.0, 0.0, -40.0, -1_900_000.0),  # 40 m pixels
        "nodata": np.nan,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(db)
        dst.descriptions = ("HH", "HV")
    return path


def _timed(summary: Summary, stage: str, step: str, fn: Callable[[], str]) -> Any:
    start = time.perf_counter()
    result = fn()
    summary.add(stage, step, result, time.perf_counter() - start)
    return result


def stage_ingest(ws: Workspace, project: Project, size: str, summary: Summary) -> None:
    """Stage 1: dataset ``eodata``, a generated scene uploaded, tagged, found by search."""
    datasets = project.get_dataset_api()
    _timed(
        summary,
        "1 ingest",
        "dataset",
        lambda: datasets.create(DATASET, "Sentinel-1 SAR, Arctic").name,
    )
    if not any(s.name == "location_polar" for s in ws.list_tag_schemas()):
        ws.create_tag_schema("location_polar", LOCATION_POLAR, "where an EO dataset was acquired")
    with tempfile.TemporaryDirectory() as tmp:
        scene = write_small_scene(Path(tmp) / "s1_scene.tif", SCENE_PIXELS[size])
        _timed(
            summary,
            "1 ingest",
            "upload scene",
            lambda: f"{datasets.upload(scene, DATASET, progress=False).size / 1e6:.1f} MB",
        )
    raster = datasets.preview(f"{DATASET}/s1_scene.tif")
    summary.add(
        "1 ingest",
        "preview",
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
        lambda: ", ".join(f"{h.kind}:{h.name}" for h in ws.search(DATASET).hits),
    )
    if "dataset:eodata" not in hits:
        raise AssertionError(f"search did not find the dataset: {hits}")


STAGES: list[tuple[str, Callable[[Workspace, Project, str, Summary], None]]] = [
    ("ingest", stage_ingest),
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
    for _name, stage in tqdm(STAGES, desc=f"eolab demo ({size})", unit="stage"):
        stage(ws, project, size, summary)
    echo(summary.render())
    echo(f"workspace: {home}  (open it with: make lab, or eolab lab --home {home})")
    return summary
