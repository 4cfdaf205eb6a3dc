"""Synthetic Sentinel-1 style GeoTIFF scenes with known targets, drawn with ``sar.py``'s image model.

The demonstrator tiles such a scene into 75×75 chips; the targets' positions are returned (and
written as a sidecar) so that a test can check that tiling finds them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np

from eolab.eo.sar import (
    ANGLE_RANGE,
    ICEBERG_SHARE,
    _atomic_target,
    _clutter_db,
    _render,
    _sample_targets,
)
from eolab.errors import InvalidInput

SCENE_CRS = "EPSG:3413"
SCENE_PIXEL_M = 40.0
SCENE_ORIGIN = (-574_640.0, -1_879_560.0)
SCENE_BLOCK = 256
SCENE_LOOKS = 5.0
_SCENE_PATCH = 75  # each scene target is rendered in a patch this size around its centre


# ----------------------------------------------------------------------------------------------
# Sentinel-1 style scenes


@dataclass(frozen=True)
class SceneTarget:
    """A target embedded in a synthetic scene: pixel centre, map coordinates and class."""

    row: int
    col: int
    x: float  # EPSG:3413 metres, pixel centre
    y: float
    is_iceberg: int
    length_px: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (for a sidecar file or a REST body)."""
        return asdict(self)


def _scene_positions(
    rng: np.random.Generator,
    width: int,
    height: int,
    targets: int | Sequence[tuple[float, float, int]] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if targets is not None and not isinstance(targets, int | np.integer):
        try:
            spec = [(int(r), int(c), int(y)) for r, c, y in targets]
        except (TypeError, ValueError) as exc:
            raise InvalidInput(
                f"targets must be a count or (row, col, is_iceberg) triples, got {targets!r}"
            ) from exc
        for r, c, y in spec:
            if not (0 <= r < height and 0 <= c < width) or y not in (0, 1):
                raise InvalidInput(
                    f"target {(r, c, y)} is outside the {width}×{height} scene or its class "
                    "is not 0/1"
                )
        arr = np.array(spec, dtype=np.int64).reshape(-1, 3)
        return arr[:, 0], arr[:, 1], arr[:, 2]
    if isinstance(targets, bool) or (targets is not None and targets < 0):
        raise InvalidInput(f"targets must be a count ≥ 0, got {targets!r}")
    count = max(1, round(width * height / 250_000)) if targets is None else int(targets)
    margin = min(20, width // 4, height // 4)
    rows: list[int] = []
    cols: list[int] = []
    spacing = 60.0
    attempts = 0
    while len(rows) < count:
        r = int(rng.integers(margin, height - margin))
        c = int(rng.integers(margin, width - margin))
        attempts += 1
        if attempts > 50 * (count + 1):  # crowded: accept overlaps rather than loop forever
            spacing = 0.0
        if all(
            (r - r0) ** 2 + (c - c0) ** 2 >= spacing**2 for r0, c0 in zip(rows, cols, strict=True)
        ):
            rows.append(r)
            cols.append(c)
    labels = (rng.random(count) < ICEBERG_SHARE).astype(np.int64)
    return np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64), labels


def _scene_angle(cols: np.ndarray, width: int) -> np.ndarray:
    """Incidence angle across the swath: near range (column 0) 30°, far range 46°."""
    return ANGLE_RANGE[0] + (ANGLE_RANGE[1] - ANGLE_RANGE[0]) * (cols + 0.5) / max(width, 1)


@overload
def synthetic_s1_scene(
    path: str | os.PathLike[str],
    width: int,
    height: int,
    seed: int = 0,
    targets: int | Sequence[tuple[float, float, int]] | None = None,
    *,
    return_targets: Literal[False] = False,
) -> Path: ...


@overload
def synthetic_s1_scene(
    path: str | os.PathLike[str],
    width: int,
    height: int,
    seed: int = 0,
    targets: int | Sequence[tuple[float, float, int]] | None = None,
    *,
    return_targets: Literal[True],
) -> tuple[Path, list[SceneTarget]]: ...


def synthetic_s1_scene(
    path: str | os.PathLike[str],
    width: int,
    height: int,
    seed: int = 0,
    targets: int | Sequence[tuple[float, float, int]] | None = None,
    *,
    return_targets: bool = False,
) -> Path | tuple[Path, list[SceneTarget]]:
    """Write a Sentinel-1 style two-band GeoTIFF scene with ships and icebergs at sea.

    Why: the demonstrator's raster stage (undersample, calibrate to dB, tile into chips) needs a
    scene, and none may be downloaded. Bands 1 and 2 are ``"HH"`` and ``"HV"`` as float32
    **linear intensity** (σ⁰, not dB: calibration to dB is eolab's pre-processing step), CRS
    EPSG:3413 with 40 m pixels, tiled 256×256 so that windowed reads are cheap. The sea return
    falls with incidence angle from near range (30°, left) to far range (46°, right) and is
    speckled (5 looks); targets use the chip model without its hard cases, so every one is
    clearly brighter than the sea. ``targets`` is a count (default one per 250,000 pixels,
    at least one), or explicit ``(row, col, is_iceberg)`` centres.

    The scene is generated and written 256 rows at a time, never whole: about ten 256 × width
    float64 arrays at once (≈ 80 MB for a 4096-pixel-wide scene, whatever its height). Each
    row block draws its speckle from its own stream seeded by ``(seed, block)``, so the bytes
    depend only on the arguments; the file appears atomically (temp file + rename), with no
    compression. With ``return_targets=True`` the target list comes back with the path.
    """
    import rasterio
    from rasterio.transform import Affine
    from rasterio.windows import Window

    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 8:
            raise InvalidInput(f"{name} must be an integer ≥ 8, got {value!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise InvalidInput(f"seed must be an integer, got {seed!r}")
    width, height, seed = int(width), int(height), int(seed)
    rng = np.random.default_rng([seed, 0x51])
    rows, cols, labels = _scene_positions(rng, width, height, targets)
    target_path, tmp = _atomic_target(path)
    sea_hh_at = _clutter_db(_scene_angle(cols.astype(np.float64), width), hh=True)
    params = _sample_targets(rng, labels, sea_hh_at, hard=False)
    patch_hh, patch_hv, patch_sea = _render(params, _SCENE_PATCH)
    swell = [rng.uniform(*r) for r in ((12.0, 40.0), (0.0, 2 * math.pi), (0.0, 2 * math.pi))]

    x0, y0 = SCENE_ORIGIN
    transform = Affine(SCENE_PIXEL_M, 0.0, x0, 0.0, -SCENE_PIXEL_M, y0)
    col_idx = np.arange(width, dtype=np.float64)
    angle = _scene_angle(col_idx, width)
    base_hh = _clutter_db(angle, hh=True)
    base_hv = _clutter_db(angle, hh=False)
    k = 2 * math.pi / swell[0]
    kx, ky = k * math.cos(swell[1]), k * math.sin(swell[1])
    half = _SCENE_PATCH // 2

    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": 2,
        "dtype": "float32",
        "crs": SCENE_CRS,
        "transform": transform,
        "tiled": True,
        "blockxsize": SCENE_BLOCK,
        "blockysize": SCENE_BLOCK,
        "interleave": "band",
    }
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.set_band_description(1, "HH")
            dst.set_band_description(2, "HV")
            for block, r0 in enumerate(range(0, height, SCENE_BLOCK)):
                r1 = min(height, r0 + SCENE_BLOCK)
                row_idx = np.arange(r0, r1, dtype=np.float64)
                wave = 0.5 * np.sin(ky * row_idx[:, None] + kx * col_idx[None, :] + swell[2])
                mean_hh = 10.0 ** ((base_hh[None, :] + wave) / 10.0)
                mean_hv = 10.0 ** ((base_hv[None, :] + 0.5 * wave) / 10.0)
                add_hh = np.zeros_like(mean_hh)
                add_hv = np.zeros_like(mean_hv)
                for t in np.flatnonzero((rows + half >= r0) & (rows - half < r1)):
                    pr0, pc0 = rows[t] - half, cols[t] - half
                    lo_r, hi_r = max(r0, pr0), min(r1, pr0 + _SCENE_PATCH)
                    lo_c, hi_c = max(0, pc0), min(width, pc0 + _SCENE_PATCH)
                    dst_win = (slice(lo_r - r0, hi_r - r0), slice(lo_c, hi_c))
                    src_win = (t, slice(lo_r - pr0, hi_r - pr0), slice(lo_c - pc0, hi_c - pc0))
                    mean_hh[dst_win] *= patch_sea[src_win]
                    mean_hv[dst_win] *= patch_sea[src_win]
                    add_hh[dst_win] += patch_hh[src_win]
                    add_hv[dst_win] += patch_hv[src_win]
                block_rng = np.random.default_rng([seed, 0x51, block + 1])
                speckle = block_rng.standard_gamma(SCENE_LOOKS, (2, r1 - r0, width)) / SCENE_LOOKS
                hh = ((mean_hh + add_hh) * speckle[0]).astype(np.float32)
                hv = ((mean_hv + add_hv) * speckle[1]).astype(np.float32)
                window = Window(0, r0, width, r1 - r0)
                dst.write(hh, 1, window=window)
                dst.write(hv, 2, window=window)
        os.replace(tmp, target_path)
    finally:
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".aux.xml").unlink(missing_ok=True)
    if not return_targets:
        return target_path
    found = [
        SceneTarget(
            row=int(r),
            col=int(c),
            x=float(x0 + (c + 0.5) * SCENE_PIXEL_M),
            y=float(y0 - (r + 0.5) * SCENE_PIXEL_M),
            is_iceberg=int(y),
            length_px=float(ln),
        )
        for r, c, y, ln in zip(rows, cols, labels, params.length, strict=True)
    ]
    return target_path, found
