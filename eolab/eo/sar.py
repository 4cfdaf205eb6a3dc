"""SAR data of the ship-vs-iceberg demonstrator: synthetic chips, scenes and the Statoil loader.

Nothing may be downloaded at run time, so eolab generates chips in the exact format of the public
Statoil/C-CORE ``train.json`` (75×75 HH and HV bands in dB, incidence angle, label) and
Sentinel-1 style GeoTIFF scenes, and reads the real file when a user has it.

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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import pandas as pd

from eolab.errors import InvalidInput, ValidationFailed

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
SCENE_CRS = "EPSG:3413"
SCENE_PIXEL_M = 40.0
SCENE_ORIGIN = (-574_640.0, -1_879_560.0)
SCENE_BLOCK = 256
SCENE_LOOKS = 5.0
_SCENE_PATCH = 75  # each scene target is rendered in a patch this size around its centre


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


# ----------------------------------------------------------------------------------------------
# Reading the real train.json


def _record_name(record: Any, index: int) -> str:
    if isinstance(record, dict) and isinstance(record.get("id"), str) and record["id"]:
        return f"record {record['id']!r}"
    return f"record #{index}"


def _band(value: Any, field: str) -> np.ndarray | str:
    """The band as float32, or the reason it is not one."""
    if not isinstance(value, list):
        return f"{field} is a {type(value).__name__}, expected a list of {PIXELS} numbers"
    if len(value) != PIXELS:
        return f"{field} has {len(value)} values, expected {PIXELS}"
    try:
        arr = np.array(value)
    except (ValueError, TypeError):  # nested lists of different lengths
        arr = np.array(value, dtype=object)
    if arr.dtype.kind not in "fiu" or arr.ndim != 1:
        bad = next(
            (v for v in value if isinstance(v, bool) or not isinstance(v, int | float)), None
        )
        return f"{field} has a non-numeric value {bad!r}"
    arr32 = arr.astype(np.float32)
    if not np.isfinite(arr32).all():
        return f"{field} has a value that is not a finite float32"
    return arr32


def _angle(value: Any) -> float | str:
    if value == NA and isinstance(value, str):
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return f'inc_angle is {value!r}, expected a number of degrees or "na"'
    return float(value)


def load_statoil(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a Statoil/C-CORE ``train.json`` (or one written by :func:`to_json`) into a frame.

    Columns as :func:`iceberg_frame`: ``inc_angle`` keeps ``"na"`` as a string (the feature group
    stores it as a string), ``inc_angle_deg`` has the angle as float with NaN for ``"na"``.
    Every record is checked before anything is returned: a missing field, a band that is not
    5625 numbers, a bad angle, a label other than 0/1 or a duplicate id raises
    :class:`~eolab.errors.ValidationFailed` naming the record's id and the field (``details``
    lists up to 20 problems); a file that is not a JSON array raises
    :class:`~eolab.errors.InvalidInput`.
    """
    source = Path(path)
    try:
        raw = source.read_bytes()
    except FileNotFoundError as exc:
        raise InvalidInput(f"{str(source)!r} does not exist") from exc
    except IsADirectoryError as exc:
        raise InvalidInput(f"{str(source)!r} is a directory, expected a JSON file") from exc
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{source.name} is not JSON: {exc}") from exc
    if not isinstance(data, list):
        raise InvalidInput(
            f"{source.name} holds a JSON {type(data).__name__}, expected an array of records"
        )

    problems: list[str] = []
    ids: list[str] = []
    seen: set[str] = set()
    b1 = np.empty((len(data), PIXELS), dtype=np.float32)
    b2 = np.empty((len(data), PIXELS), dtype=np.float32)
    angle = np.empty(len(data))
    label = np.empty(len(data), dtype=np.int64)
    for i, record in enumerate(data):
        name = _record_name(record, i)
        found: list[str] = []
        if not isinstance(record, dict):
            found.append(f"is a JSON {type(record).__name__}, expected an object")
        else:
            missing = [f for f in FIELDS if f not in record]
            found += [f"missing field {f!r}" for f in missing]
            rid = record.get("id")
            if "id" not in missing:
                if not isinstance(rid, str) or not rid:
                    found.append(f"id is {rid!r}, expected a non-empty string")
                elif rid in seen:
                    found.append("id is a duplicate of an earlier record")
                else:
                    seen.add(rid)
            for field, out in (("band_1", b1), ("band_2", b2)):
                if field not in missing:
                    band = _band(record[field], field)
                    if isinstance(band, str):
                        found.append(band)
                    else:
                        out[i] = band
            if "inc_angle" not in missing:
                a = _angle(record["inc_angle"])
                if isinstance(a, str):
                    found.append(a)
                else:
                    angle[i] = a
            if "is_iceberg" not in missing:
                y = record["is_iceberg"]
                if isinstance(y, bool) or not isinstance(y, int) or y not in (0, 1):
                    found.append(f"is_iceberg is {y!r}, expected 0 or 1")
                else:
                    label[i] = y
            if not found:
                ids.append(rid)
        problems += [f"{name}: {p}" for p in found]
        if len(problems) >= 20:
            break
    if problems:
        more = ""
        if len(problems) > 1:
            at_least = "at least " if len(problems) >= 20 else ""
            more = f" (and {at_least}{len(problems) - 1} more problems)"
        raise ValidationFailed(
            f"{source.name}: {problems[0]}{more}", details={"problems": problems[:20]}
        )
    return _frame(ids, b1, b2, angle, label)


# ----------------------------------------------------------------------------------------------
# Pre-processing


def _rows_of_one_block(cells: np.ndarray) -> np.ndarray | None:
    """The (n, 5625) float32 block whose rows the cells are, if they are all row views of one
    (as :func:`iceberg_frame` and :func:`load_statoil` make them), so that stacking needs no
    copy; None otherwise."""
    first = cells[0]
    if not isinstance(first, np.ndarray):
        return None
    base = first.base
    if not (
        isinstance(base, np.ndarray)
        and base.ndim == 2
        and base.shape[1] == PIXELS
        and base.dtype == np.float32
        and base.flags.c_contiguous
    ):
        return None
    start = base.__array_interface__["data"][0]
    row_bytes = base.strides[0]
    rows = np.empty(len(cells), dtype=np.int64)
    for i, cell in enumerate(cells):
        if (
            not isinstance(cell, np.ndarray)
            or cell.base is not base
            or cell.shape != (PIXELS,)
            or cell.strides != (4,)
        ):
            return None
        row, rest = divmod(cell.__array_interface__["data"][0] - start, row_bytes)
        if rest:
            return None
        rows[i] = row
    if len(rows) == base.shape[0] and (rows == np.arange(len(rows))).all():
        return base
    return base[rows]


def _stack(df: pd.DataFrame, field: str) -> np.ndarray:
    if field not in df.columns:
        raise InvalidInput(f"the frame has no column {field!r}, expected {PIXELS}-value bands")
    cells = df[field].to_numpy()
    if len(cells) == 0:
        return np.empty((0, PIXELS), dtype=np.float32)
    block = _rows_of_one_block(cells)
    if block is not None:
        return block
    try:
        arr = np.stack(cells).astype(np.float32, copy=False)
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.ndim != 2 or arr.shape[1] != PIXELS or arr.dtype.kind != "f":
        for pos, cell in enumerate(cells):
            shape = np.shape(cell)
            if shape != (PIXELS,) and shape != (CHIP, CHIP):
                rid = df["id"].iloc[pos] if "id" in df.columns else pos
                raise InvalidInput(
                    f"{field} of row {rid!r} has shape {shape}, expected ({PIXELS},)"
                )
        if arr is not None and arr.ndim == 3:  # (n, 75, 75) chips: flatten row-major
            return arr.reshape(len(cells), PIXELS)
        raise InvalidInput(f"{field} is not numeric, expected {PIXELS} floats per row")
    return arr


def add_band_avg(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with ``band_avg = (band_1 + band_2) / 2`` per pixel, the demonstrator's
    third input channel.

    Computed on the stacked (n, 5625) float32 bands in two numpy operations; bands that are row
    views of one block (as :func:`iceberg_frame` and :func:`load_statoil` return them) are used
    in place, other cells (lists, separate arrays, 75×75 arrays) are stacked once. The new
    cells are float32 row views of one (n, 5625) block. ``df`` itself is not changed; a band
    of the wrong shape raises InvalidInput naming the column and the row.
    """
    if not isinstance(df, pd.DataFrame):
        raise InvalidInput(f"expected a pandas DataFrame, got {type(df).__name__}")
    b1 = _stack(df, "band_1")
    b2 = _stack(df, "band_2")
    avg = b1 + b2
    avg *= np.float32(0.5)
    out = df.copy(deep=False)
    out["band_avg"] = pd.Series(list(avg), index=df.index, dtype=object)
    return out


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
