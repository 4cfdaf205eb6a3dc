"""EO: tiling a two-band float32 scene into 75×75 chips.

Rows: eolab's tile() against a plain rasterio windowed-read loop (goal ratio >= 0.8, one
worker); the python engine with 2 workers against 1, each pinned to one thread and writing
its own chips (goal >= 1.4x; the unpinned figure too); the spark engine (local[2]) against
the same single worker, with its start-up cost on a row of its own.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import QUICK, row  # noqa: E402

from eolab.engine import PythonEngine, SparkConfig, SparkEngine, stop_session  # noqa: E402
from eolab.eo import raster  # noqa: E402

SIZE = 512 if QUICK else 4096
CHIP = 75


def write_scene(path: Path) -> Path:
    profile = {
        "driver": "GTiff",
        "width": SIZE,
        "height": SIZE,
        "count": 2,
        "dtype": "float32",
        "crs": "EPSG:3413",
        "transform": Affine(40, 0, -300000, 0, -40, -1900000),
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    rng = np.random.default_rng(0)
    with rasterio.open(path, "w", **profile) as dst:
        for _, window in dst.block_windows(1):
            shape = (2, int(window.height), int(window.width))
            dst.write(rng.gamma(4.0, 0.25, size=shape).astype("float32"), window=window)
    return path


def plain_loop(path: Path) -> int:
    """The baseline: what a user writes with rasterio alone."""
    count = 0
    with rasterio.open(path) as ds:
        for r in range(0, ds.height - CHIP + 1, CHIP):
            for c in range(0, ds.width - CHIP + 1, CHIP):
                chip = ds.read(window=Window(c, r, CHIP, CHIP))
                count += chip.shape[0] > 0
    return count


def ours(path: Path) -> int:
    return sum(1 for _ in raster.tile(path, size=CHIP))


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    repeats = 1 if QUICK else 3
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        scene = write_scene(tmp_path / "scene.tif")
        chips = plain_loop(scene)
        base = best_of(lambda: plain_loop(scene), repeats)
        mine = best_of(lambda: ours(scene), repeats)
        row(
            "eo",
            f"tile {SIZE}x{SIZE}x2 into {chips} chips, 1 worker (goal >= 0.8)",
            chips / mine,
            chips / base,
            "chips/s",
        )

        def parallel(engine, name: str) -> float:
            out = tmp_path / name
            raster.tile_parallel(scene, engine, size=CHIP, out_dir=out, progress=False)  # warm-up
            return best_of(
                lambda: raster.tile_parallel(scene, engine, size=CHIP, out_dir=out, progress=False),
                repeats,
            )

        one = PythonEngine(workers=1, pin_threads=True)
        single = parallel(one, "one")
        two = PythonEngine(workers=2, pin_threads=True)
        double = parallel(two, "two")
        row(
            "eo",
            "python engine, 2 workers vs 1, pinned, chips to files (goal >= 1.4)",
            chips / double,
            chips / single,
            "chips/s",
        )
        two.close()
        unpinned = PythonEngine(workers=2, pin_threads=False)
        row(
            "eo",
            "python engine, 2 workers vs 1, unpinned",
            chips / parallel(unpinned, "u"),
            chips / single,
            "chips/s",
        )
        unpinned.close()

        start = time.perf_counter()
        spark = SparkEngine(SparkConfig(master="local[2]"))
        spark.map_items(len, [[1], [2]], progress=False)
        startup = time.perf_counter() - start
        row(
            "eo",
            "spark local[2] start-up + first job (vs python pool start)",
            startup,
            _pool_start(),
            "s",
        )
        row(
            "eo",
            "spark local[2] vs python 1 worker, chips to files",
            chips / parallel(spark, "spark"),
            chips / single,
            "chips/s",
        )
        stop_session()


def _pool_start() -> float:
    start = time.perf_counter()
    engine = PythonEngine(workers=2)
    engine.map_items(len, [[1], [2]], progress=False)
    elapsed = time.perf_counter() - start
    engine.close()
    return elapsed


if __name__ == "__main__":
    main()
