"""Synthetic SAR chips of the ship-vs-iceberg demonstrator, and the image model they share with scenes.

Nothing may be downloaded at run time, so eolab generates chips in the exact format of the public
Statoil/C-CORE ``train.json`` (75×75 HH and HV bands in dB, incidence angle, label) and
Sentinel-1 style GeoTIFF scenes (``scene.py``); ``statoil.py`` reads the real file when a user has it.

The image model, shared by chips and scenes:

- **sea clutter**: a mean backscatter that falls with incidence angle (≈ −25 dB HH, −30 dB HV at
  39°), a gentle swell texture, and multiplicative speckle: intensity × Gamma(L, 1/L) with L
  looks, so that in dB the sea is grainy like a multi-look GRD product;
- **ships**: elongated hulls (length/width 3–7) at a random heading with a few bright point
  scatterers, strong cross-polarised (HV) return, sometimes a dark turbulent wake;
- **icebergs**: compact, irregular, rounder blobs with a weak HV return;
- very bright targets get the cross-shaped side lobes of a SAR impulse response.

Chips are deliberately not perfectly separable (sizes, brightness and HV/HH contrast overlap;
some chips have low-contrast or partly visible targets; a few look like the other class), so that
the demonstrator CNN reaches about 0.85–0.95 validation accuracy, as on the real data.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from eolab.errors import InvalidInput

CHIP = 75
PIXELS = CHIP * CHIP
FIELDS = ("id", "band_1", "band_2", "inc_angle", "is_iceberg")
NA = "na"

# Proportions of the public train.json: 753 icebergs of 1604; 133 of 851 ships without angle.
ICEBERG_SHARE = 753 / 1604
NA_SHARE_OF_SHIPS = 133 / 851
ANGLE_RANGE = (30.0, 46.0)
# A normal truncated to ANGLE_RANGE with these parameters has mean ≈ 39.3° and std ≈ 3.8°.
_ANGLE_MU, _ANGLE_SIGMA = 40.2, 5.05
_ANGLE_REF = 39.3
DB_RANGE = (-45.0, 35.0)

# Hard cases that keep the chips from being perfectly separable.
_P_LOOKS_LIKE_OTHER = 0.025  # the target is drawn from the other class's model
_P_LOW_CONTRAST = 0.04  # target only 2–7 dB above the sea
_P_PARTIAL = 0.03  # target near the edge, partly outside the chip
_P_WAKE = 0.35  # share of ships with a visible wake
_SIDELOBE = 10 ** (-2.2)  # −22 dB side lobes of the impulse response
_CHUNK = 256  # chips generated per vectorised batch

# Scene defaults: 40 m pixels in EPSG:3413 (NSIDC polar stereographic north), over Baffin Bay.
# ----------------------------------------------------------------------------------------------
# The target model


@dataclass
class _Targets:
    """Per-target parameters, one array entry per target (all arrays have the same length)."""

    looks_iceberg: np.ndarray  # bool: which shape/polarisation model draws it
    dy: np.ndarray  # centre offset from the patch centre, pixels
    dx: np.ndarray
    heading: np.ndarray  # radians
    length: np.ndarray  # pixels (ships: hull length; icebergs: diameter along the long axis)
    width: np.ndarray  # pixels
    peak_hh_db: np.ndarray  # absolute peak backscatter, dB
    peak_hv_db: np.ndarray
    scatter_pos: np.ndarray  # (m, 3) along-hull positions in [-1, 1] (ships)
    scatter_amp: np.ndarray  # (m, 3) relative brightness of the point scatterers (ships)
    harm_amp: np.ndarray  # (m, 3) outline irregularity, harmonics 2..4 (icebergs)
    harm_phase: np.ndarray  # (m, 3)
    texture_k: np.ndarray  # (m,) spatial frequency of the iceberg surface texture, rad/pixel
    texture_phase: np.ndarray  # (m, 2)
    wake_depth: np.ndarray  # 0 = no wake; else share of the sea return the wake removes
    wake_length: np.ndarray  # pixels


def _sample_targets(
    rng: np.random.Generator,
    is_iceberg: np.ndarray,
    clutter_hh_db: np.ndarray,
    hard: bool,
) -> _Targets:
    """Draw target parameters for each label; ``hard`` adds the ambiguous and faint cases."""
    m = len(is_iceberg)
    label = is_iceberg.astype(bool)
    looks = label.copy()
    if hard:
        looks ^= rng.random(m) < _P_LOOKS_LIKE_OTHER
    ship, berg = ~looks, looks

    length = np.empty(m)
    width = np.empty(m)
    snr = np.empty(m)
    hv_minus_hh = np.empty(m)
    ns, nb = int(ship.sum()), int(berg.sum())
    # Ships: 4–30 px long, 3–7 times longer than wide, bright, strong cross-pol return.
    length[ship] = np.clip(np.exp(rng.normal(math.log(12.0), 0.4, ns)), 4.0, 30.0)
    width[ship] = np.maximum(length[ship] / rng.uniform(3.0, 7.0, ns), 1.3)
    snr[ship] = np.clip(rng.normal(27.0, 7.0, ns), 6.0, 52.0)
    hv_minus_hh[ship] = rng.normal(-4.5, 2.5, ns)
    # Icebergs: 2.5–16 px, length/width 1–2, less bright, weak cross-pol return.
    length[berg] = np.clip(np.exp(rng.normal(math.log(6.5), 0.38, nb)), 2.5, 16.0)
    width[berg] = length[berg] / rng.uniform(1.0, 2.0, nb)
    snr[berg] = np.clip(rng.normal(12.0, 6.0, nb), 5.0, 42.0)
    hv_minus_hh[berg] = rng.normal(-14.5, 2.5, nb)

    dy = np.zeros(m)
    dx = np.zeros(m)
    if hard:
        dy, dx = np.clip(rng.normal(0.0, 2.5, (2, m)), -10.0, 10.0)
        low = rng.random(m) < _P_LOW_CONTRAST
        snr[low] = rng.uniform(2.0, 7.0, int(low.sum()))
        partial = rng.random(m) < _P_PARTIAL
        edge = rng.uniform(27.0, 36.0, m) * rng.choice([-1.0, 1.0], m)
        along_rows = rng.random(m) < 0.5
        dy = np.where(partial & along_rows, edge, dy)
        dx = np.where(partial & ~along_rows, edge, dx)
    else:
        snr = np.maximum(snr, 15.0)  # scenes: every target clearly visible

    scatter_amp = rng.uniform(0.1, 0.6, (m, 3))
    scatter_amp[:, 0] = 0.65  # the dominant scatterer (superstructure) sets the peak
    wake = ship & (rng.random(m) < _P_WAKE)
    peak_hh = clutter_hh_db + snr
    return _Targets(
        looks_iceberg=looks,
        dy=dy,
        dx=dx,
        heading=rng.uniform(0.0, math.pi, m),
        length=length,
        width=width,
        peak_hh_db=np.minimum(peak_hh, DB_RANGE[1] - 1.0),
        peak_hv_db=np.minimum(peak_hh + hv_minus_hh, DB_RANGE[1] - 8.0),
        scatter_pos=rng.uniform(-0.8, 0.8, (m, 3)),
        scatter_amp=scatter_amp,
        harm_amp=rng.uniform(0.03, 0.22, (m, 3)),
        harm_phase=rng.uniform(0.0, 2 * math.pi, (m, 3)),
        texture_k=rng.uniform(0.6, 1.6, m),
        texture_phase=rng.uniform(0.0, 2 * math.pi, (m, 2)),
        wake_depth=np.where(wake, rng.uniform(0.35, 0.75, m), 0.0),
        wake_length=length * rng.uniform(1.5, 4.0, m),
    )


def _render(t: _Targets, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear HH and HV target intensity and the sea-return multiplier (wakes), each (m, s, s)."""
    half = (size - 1) / 2.0
    grid = np.arange(size, dtype=np.float64) - half
    dy = grid[None, :, None] - t.dy[:, None, None]
    dx = grid[None, None, :] - t.dx[:, None, None]
    cos = np.cos(t.heading)[:, None, None]
    sin = np.sin(t.heading)[:, None, None]
    u = dx * cos + dy * sin  # along the target's long axis
    v = dy * cos - dx * sin  # across it
    m = len(t.heading)
    shape_hh = np.zeros((m, size, size))
    shape_hv = np.zeros((m, size, size))
    sea = np.ones((m, size, size))

    ship = ~t.looks_iceberg
    if ship.any():
        us, vs = u[ship], v[ship]
        half_len = (t.length[ship] / 2.0)[:, None, None]
        half_wid = (t.width[ship] / 2.0)[:, None, None]
        hull = np.exp(-(((us / half_len) ** 2) ** 3) - (vs / half_wid) ** 2)
        along = np.full(us.shape, 0.35)
        for k in range(3):
            pos = (t.scatter_pos[ship, k])[:, None, None] * half_len
            amp = t.scatter_amp[ship, k][:, None, None]
            along += amp * np.exp(-((us - pos) ** 2) / (2 * 0.8**2))
        along = np.minimum(along, 1.0)
        shape_hh[ship] = hull * along
        shape_hv[ship] = hull * along**2  # cross-pol concentrates on the structures
        depth = t.wake_depth[ship][:, None, None]
        behind = np.clip(-us - half_len, 0.0, None)
        wake_len = t.wake_length[ship][:, None, None]
        in_wake = (us < -half_len) * np.exp(-behind / wake_len) * np.exp(-((vs / 1.6) ** 2))
        sea[ship] = 1.0 - depth * in_wake

    berg = t.looks_iceberg
    if berg.any():
        ub, vb = u[berg], v[berg]
        a = (t.length[berg] / 2.0)[:, None, None]
        b = (t.width[berg] / 2.0)[:, None, None]
        rho = np.sqrt((ub / a) ** 2 + (vb / b) ** 2)
        psi = np.arctan2(vb / b, ub / a)
        outline = np.ones_like(rho)
        for k in range(3):
            amp = t.harm_amp[berg, k][:, None, None]
            phase = t.harm_phase[berg, k][:, None, None]
            outline += amp * np.cos((k + 2) * psi + phase)
        body = np.exp(-((rho / outline) ** 4))
        freq = t.texture_k[berg][:, None, None]
        p0 = t.texture_phase[berg, 0][:, None, None]
        p1 = t.texture_phase[berg, 1][:, None, None]
        texture = 0.8 + 0.1 * np.cos(freq * ub + p0) + 0.1 * np.cos(freq * vb + p1)
        shape_hh[berg] = body * texture
        shape_hv[berg] = body * (0.9 + 0.1 * np.cos(freq * ub + p1))  # volume scattering

    # Side lobes of the impulse response: a faint cross through the target centre.
    ady = np.abs(dy)
    adx = np.abs(dx)
    cross = np.exp(-(ady**2) / 0.5) / (1.0 + (adx / 5.0) ** 2) + np.exp(-(adx**2) / 0.5) / (
        1.0 + (ady / 5.0) ** 2
    )
    peak_hh = (10.0 ** (t.peak_hh_db / 10.0))[:, None, None]
    peak_hv = (10.0 ** (t.peak_hv_db / 10.0))[:, None, None]
    hh = peak_hh * (shape_hh + _SIDELOBE * cross)
    hv = peak_hv * (shape_hv + _SIDELOBE * cross)
    return hh, hv, sea


def _swell(
    rng: np.random.Generator, m: int, rows: np.ndarray, cols: np.ndarray, amp_db: float
) -> np.ndarray:
    """A gentle swell texture in dB, (m, len(rows), len(cols)), one wave train per image."""
    wavelength = rng.uniform(9.0, 30.0, m)
    direction = rng.uniform(0.0, 2 * math.pi, m)
    phase = rng.uniform(0.0, 2 * math.pi, m)
    amp = rng.uniform(0.0, amp_db, m)
    k = 2 * math.pi / wavelength
    ky = (k * np.sin(direction))[:, None, None]
    kx = (k * np.cos(direction))[:, None, None]
    arg = ky * rows[None, :, None] + kx * cols[None, None, :] + phase[:, None, None]
    return amp[:, None, None] * np.sin(arg)


def _clutter_db(angle: np.ndarray, hh: bool) -> np.ndarray:
    """Mean sea backscatter in dB at an incidence angle (HH falls faster with angle than HV)."""
    if hh:
        return -25.0 - 0.35 * (angle - _ANGLE_REF)
    return -30.0 - 0.10 * (angle - _ANGLE_REF)


# ----------------------------------------------------------------------------------------------
# Chips in the Statoil/C-CORE format


@dataclass
class _Chips:
    ids: list[str]
    band_1: np.ndarray  # (n, 5625) float64, dB rounded to 4 decimals
    band_2: np.ndarray
    inc_angle: np.ndarray  # float64 degrees, NaN where the record says "na"
    is_iceberg: np.ndarray  # int64 0/1


def _truncated_angles(rng: np.random.Generator, n: int) -> np.ndarray:
    out = np.empty(0)
    while len(out) < n:
        draw = rng.normal(_ANGLE_MU, _ANGLE_SIGMA, 2 * n + 16)
        out = np.concatenate([out, draw[(draw >= ANGLE_RANGE[0]) & (draw <= ANGLE_RANGE[1])]])
    return out[:n]


def _unique_ids(rng: np.random.Generator, n: int) -> list[str]:
    draws = rng.integers(0, 2**32, size=2 * n + 16, dtype=np.uint64)
    _, first = np.unique(draws, return_index=True)
    unique = draws[np.sort(first)][:n]
    return [f"{int(v):08x}" for v in unique]


def _generate(n: int, seed: int) -> _Chips:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise InvalidInput(f"n must be a positive integer, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise InvalidInput(f"seed must be an integer, got {seed!r}")
    rng = np.random.default_rng([int(seed), 0x5A4])
    n_ice = int(round(n * ICEBERG_SHARE))
    labels = np.zeros(n, dtype=np.int64)
    labels[:n_ice] = 1
    labels = rng.permutation(labels)
    ids = _unique_ids(rng, n)
    angle = _truncated_angles(rng, n)
    ships = np.flatnonzero(labels == 0)
    n_na = int(round(len(ships) * NA_SHARE_OF_SHIPS))
    shown = angle.round(4)
    shown[rng.choice(ships, size=n_na, replace=False)] = np.nan

    sea_hh = _clutter_db(angle, hh=True) + rng.normal(0.0, 1.5, n)  # sea state varies
    sea_hv = _clutter_db(angle, hh=False) + rng.normal(0.0, 1.0, n)
    looks = rng.uniform(3.5, 6.0, n)
    targets = _sample_targets(rng, labels, sea_hh, hard=True)

    band_1 = np.empty((n, PIXELS))
    band_2 = np.empty((n, PIXELS))
    grid = np.arange(CHIP, dtype=np.float64)
    for start in range(0, n, _CHUNK):
        sl = slice(start, min(n, start + _CHUNK))
        m = sl.stop - sl.start
        part = _Targets(**{k: v[sl] for k, v in asdict(targets).items()})
        hh_t, hv_t, sea = _render(part, CHIP)
        swell = _swell(rng, m, grid, grid, 1.5)
        mean_hh = 10.0 ** ((sea_hh[sl, None, None] + swell) / 10.0) * sea + hh_t
        mean_hv = 10.0 ** ((sea_hv[sl, None, None] + 0.5 * swell) / 10.0) * sea + hv_t
        lk = looks[sl, None, None]
        speckle = rng.standard_gamma(np.broadcast_to(lk, (2, m, CHIP, CHIP))) / lk
        band_1[sl] = _to_db(mean_hh * speckle[0]).reshape(m, PIXELS)
        band_2[sl] = _to_db(mean_hv * speckle[1]).reshape(m, PIXELS)
    return _Chips(ids, band_1, band_2, shown, labels)


def _to_db(intensity: np.ndarray) -> np.ndarray:
    db = 10.0 * np.log10(np.maximum(intensity, 1e-12))
    return np.clip(db, *DB_RANGE).round(4)


def _angle_text(angle: float) -> str:
    return NA if math.isnan(angle) else repr(float(angle))


def iceberg_dataset(n: int = 1604, seed: int = 0) -> list[dict[str, Any]]:
    """Synthetic chips as records of the Statoil/C-CORE ``train.json`` (nothing is downloadable).

    Each record has ``id`` (8 lowercase hex characters, unique), ``band_1`` (HH) and ``band_2``
    (HV): 5625 Python floats, 75×75 row-major, dB rounded to 4 decimals; ``inc_angle`` in
    degrees (30–46, mean ≈ 39.3, std ≈ 3.8, both classes alike) or ``"na"`` for about 15 % of
    the ships and no iceberg (the collection bias of the real file); ``is_iceberg`` 0/1 with the
    real file's share of icebergs (753 of 1604). The same ``(n, seed)`` always gives the same
    records; the image model is described in the module docstring.
    """
    chips = _generate(n, seed)
    b1 = chips.band_1.tolist()
    b2 = chips.band_2.tolist()
    return [
        {
            "id": chips.ids[i],
            "band_1": b1[i],
            "band_2": b2[i],
            "inc_angle": NA if math.isnan(chips.inc_angle[i]) else float(chips.inc_angle[i]),
            "is_iceberg": int(chips.is_iceberg[i]),
        }
        for i in range(n)
    ]


def _frame(
    ids: list[str],
    band_1: np.ndarray,
    band_2: np.ndarray,
    angle: np.ndarray,
    is_iceberg: np.ndarray,
) -> pd.DataFrame:
    b1 = np.ascontiguousarray(band_1, dtype=np.float32)
    b2 = np.ascontiguousarray(band_2, dtype=np.float32)
    return pd.DataFrame(
        {
            "id": pd.Series(ids, dtype="str"),
            "band_1": pd.Series(list(b1), dtype=object),
            "band_2": pd.Series(list(b2), dtype=object),
            "inc_angle": pd.Series([_angle_text(a) for a in angle], dtype="str"),
            "inc_angle_deg": pd.Series(angle, dtype=np.float64),
            "is_iceberg": pd.Series(is_iceberg, dtype=np.int64),
        }
    )


def iceberg_frame(n: int = 1604, seed: int = 0) -> pd.DataFrame:
    """The chips of :func:`iceberg_dataset` as the DataFrame :func:`load_statoil` would return.

    Columns: ``id`` (str), ``band_1`` and ``band_2`` (one 1-D float32 numpy array of 5625 values
    per row; the rows are views of one (n, 5625) block, which makes stacking cheap),
    ``inc_angle`` (str: the angle as written in JSON, or ``"na"``), ``inc_angle_deg`` (float,
    NaN for ``"na"``) and ``is_iceberg`` (int). Equal to ``load_statoil`` of ``to_json`` of
    ``iceberg_dataset(n, seed)``, without the JSON round trip.
    """
    chips = _generate(n, seed)
    return _frame(chips.ids, chips.band_1, chips.band_2, chips.inc_angle, chips.is_iceberg)


def _atomic_target(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """The final path (its folder created if missing) and a temporary sibling to write first."""
    target = Path(path)
    if target.is_dir():
        raise InvalidInput(f"{str(target)!r} is a directory, expected a file path")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"cannot create folder {str(target.parent)!r}: {exc}") from exc
    return target, target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")


def to_json(records: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Write records as a ``train.json`` array, atomically (temp file + rename), so that a reader
    never sees half a file; returns the path."""
    target, tmp = _atomic_target(path)
    try:
        with tmp.open("x", encoding="utf-8") as out:
            out.write("[")
            for i, record in enumerate(records):
                if not isinstance(record, Mapping):
                    raise InvalidInput(
                        f"record #{i} is a {type(record).__name__}, expected a mapping"
                    )
                if i:
                    out.write(", ")
                try:
                    out.write(json.dumps(dict(record), allow_nan=False))
                except (TypeError, ValueError) as exc:
                    raise InvalidInput(f"record #{i} cannot be written as JSON: {exc}") from exc
            out.write("]")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
