"""Pre-processing of a scene stored in a project dataset: undersample → calibrate → tile.

Each step reads the previous one's output and writes its result back into the dataset
(through the dataset API, so files are atomic, indexed and searchable): ``<stem>_u<F>.tif``,
``<stem>_db.tif`` and ``<stem>_chips<size>.parquet`` (one row per chip: id, bands, bounds).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from eolab.eo import raster
from eolab.errors import InvalidInput

if TYPE_CHECKING:
    from eolab.engine import Engine
    from eolab.projects import Project


@dataclass
class PreprocessResult:
    """What each step wrote (dataset paths) and how long it took."""

    source: str
    outputs: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    chips: int = 0

    def _repr_html_(self) -> str:
        from eolab.widgets import Table

        rows = [
            (step, path, f"{self.seconds.get(step, 0):.2f}") for step, path in self.outputs.items()
        ]
        return Table(
            ("step", "output", "seconds"), rows, f"pre-processed {self.source}"
        )._repr_html_()

    def __repr__(self) -> str:
        steps = ", ".join(f"{k}: {v}" for k, v in self.outputs.items())
        return f"PreprocessResult({self.source!r}, chips={self.chips}, {steps})"


def chips_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Chip rows as an Arrow table with bands as float32 lists."""
    if not rows:
        raise InvalidInput("tiling produced no chips: is the scene smaller than one chip?")
    band_names = [k for k in rows[0] if k.startswith("band_")]
    columns: dict[str, Any] = {"id": pa.array([r["id"] for r in rows], pa.string())}
    for name in band_names:
        columns[name] = pa.array([r[name] for r in rows], pa.list_(pa.float32()))
    for name in ("left", "bottom", "right", "top"):
        columns[name] = pa.array([r[name] for r in rows], pa.float64())
    columns["crs"] = pa.array([r["crs"] for r in rows], pa.string())
    return pa.table(columns)


def preprocess(
    project: Project,
    path: str,
    undersample: float | None = None,
    calibrate: bool = False,
    tile: int | None = None,
    stride: int | None = None,
    pad: bool = False,
    engine: Engine | None = None,
    progress: bool = True,
) -> PreprocessResult:
    """Run the chosen steps on the raster at dataset ``path``; outputs go next to it."""
    if undersample is None and not calibrate and tile is None:
        raise InvalidInput("choose at least one step: undersample, calibrate or tile")
    datasets = project.get_dataset_api()
    current = datasets.local_path(path)  # NotFound / InvalidPath before any work
    folder = str(PurePosixPath(path).parent)
    stem = PurePosixPath(path).stem
    result = PreprocessResult(path)
    with tempfile.TemporaryDirectory(prefix="eolab-pre-") as tmp:
        work = Path(tmp)

        def publish(step: str, local: Path, start: float) -> None:
            info = datasets.upload(local, folder, overwrite=True, progress=False)
            result.outputs[step] = info.path
            result.seconds[step] = time.perf_counter() - start

        if undersample is not None:
            start = time.perf_counter()
            out = work / f"{stem}_u{undersample:g}.tif"
            current = raster.undersample(current, out, factor=undersample)
            publish("undersample", current, start)
        if calibrate:
            start = time.perf_counter()
            current = raster.calibrate(current, work / f"{stem}_db.tif")
            publish("calibrate", current, start)
        if tile is not None:
            start = time.perf_counter()
            rows = raster.tile_parallel(
                current, engine, size=tile, stride=stride, pad=pad, progress=progress
            )
            out = work / f"{stem}_chips{tile}.parquet"
            pq.write_table(chips_table(rows), out)
            result.chips = len(rows)
            publish("tile", out, start)
    return result
