"""Raster operations on GDAL (through rasterio): open, read, calibrate, undersample,
reproject, tile into chips, write.

Sources are a local path, an ``s3://`` URL (S3 settings from eolab.config) or a dataset path
of a project (``"eodata/scene.tif"`` with ``project=``). Every writer is atomic (temp file +
rename). Tiling reads window by window, so memory stays bounded by one chip row.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import RasterioError, RasterioIOError
from rasterio.windows import Window

from eolab.errors import InvalidInput

if TYPE_CHECKING:
    from eolab.projects import Project

RESAMPLING = {
    "nearest": Resampling.nearest,
    "average": Resampling.average,
    "bilinear": Resampling.bilinear,
    "cubic": Resampling.cubic,
    "mode": Resampling.mode,
    "max": Resampling.max,
    "min": Resampling.min,
}

Source = str | os.PathLike[str]


@contextmanager
def open_raster(src: Source, project: Project | None = None) -> Iterator[Any]:
    """An open rasterio dataset for a path, an ``s3://`` URL, or a dataset path of ``project``."""
    text = os.fspath(src)
    if text.startswith("s3://"):
        from eolab.eo.s3 import open_s3_raster

        with open_s3_raster(text) as ds:
            yield ds
        return
    path = project.get_dataset_api().local_path(text) if project is not None else Path(text)
    try:
        ds = rasterio.open(path)
    except RasterioIOError as exc:
        raise InvalidInput(
            f"{text!r} is not a readable raster: {exc}", details={"path": text}
        ) from exc
    with ds:
        yield ds


def _check_band(ds: Any, band: int) -> int:
    if not isinstance(band, int | np.integer) or not 1 <= band <= ds.count:
        raise InvalidInput(f"band must be 1..{ds.count}, got {band!r}", details={"field": "band"})
    return int(band)


def _check_window(ds: Any, window: Window) -> Window:
    if (
        window.col_off < 0
        or window.row_off < 0
        or window.width <= 0
        or window.height <= 0
        or (window.col_off + window.width > ds.width or window.row_off + window.height > ds.height)
    ):
        raise InvalidInput(
            f"window {window} is outside the {ds.width}x{ds.height} scene",
            details={"field": "window"},
        )
    return window


def read(
    src: Source,
    bands: Sequence[int] | int | None = None,
    window: Window | tuple[int, int, int, int] | None = None,
    project: Project | None = None,
) -> np.ndarray:
    """Bands (1-based) of a window ``(col, row, width, height)``: an array (bands, rows, cols)."""
    with open_raster(src, project) as ds:
        indexes = _band_list(ds, bands)
        win = None
        if window is not None:
            win = _check_window(ds, window if isinstance(window, Window) else Window(*window))
        try:
            return ds.read(indexes, window=win)
        except RasterioError as exc:
            raise InvalidInput(f"cannot read {os.fspath(src)!r}: {exc}") from exc


def _band_list(ds: Any, bands: Sequence[int] | int | None) -> list[int]:
    if bands is None:
        return list(range(1, ds.count + 1))
    if isinstance(bands, int | np.integer):
        bands = [int(bands)]
    return [_check_band(ds, b) for b in bands]


def to_db(intensity: np.ndarray, nodata: float = np.nan) -> np.ndarray:
    """Calibrate linear intensity to decibels; zero, negative or NaN intensity becomes
    ``nodata`` (never -inf)."""
    values = np.asarray(intensity, dtype="float32")
    out = np.full(values.shape, nodata, dtype="float32")
    valid = values > 0
    np.log10(values, out=out, where=valid)
    out[valid] *= 10.0
    return out


# ---- writing -----------------------------------------------------------------------------


@contextmanager
def _atomic(dst: Source) -> Iterator[Path]:
    """A temporary path next to ``dst``, renamed onto it only if the block succeeds."""
    final = Path(dst)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def write_geotiff(
    dst: Source,
    data: np.ndarray,
    transform: Any,
    crs: Any,
    nodata: float | None = None,
    descriptions: Sequence[str] | None = None,
    tiled: bool = True,
) -> Path:
    """Write ``data`` (bands, rows, cols) as a tiled, deflate-compressed GeoTIFF, atomically."""
    from rasterio.crs import CRS
    from rasterio.errors import CRSError

    if data.ndim == 2:
        data = data[np.newaxis]
    if data.ndim != 3:
        raise InvalidInput(f"data must be (bands, rows, cols), got shape {data.shape}")
    try:
        crs = CRS.from_user_input(crs) if crs is not None else None
    except (CRSError, ValueError) as exc:
        raise InvalidInput(f"unknown CRS {crs!r}: {exc}") from exc
    count, height, width = data.shape
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": count,
        "dtype": data.dtype.name,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
        "compress": "deflate",
    }
    if tiled and width >= 256 and height >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    with _atomic(dst) as tmp, rasterio.open(tmp, "w", **profile) as out:
        out.write(data)
        if descriptions:
            out.descriptions = tuple(descriptions)
    return Path(dst)


def _profile_like(ds: Any, **changes: Any) -> dict[str, Any]:
    profile = ds.profile.copy()
    profile.update(driver="GTiff", compress="deflate")
    profile.update(changes)
    if profile["width"] >= 256 and profile["height"] >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    else:
        profile.pop("blockxsize", None)
        profile.pop("blockysize", None)
        profile["tiled"] = False
    return profile


def calibrate(src: Source, dst: Source, project: Project | None = None) -> Path:
    """Intensity → dB for every band, block by block (bounded memory), written atomically."""
    with open_raster(src, project) as ds:
        profile = _profile_like(ds, dtype="float32", nodata=float("nan"))
        with _atomic(dst) as tmp, rasterio.open(tmp, "w", **profile) as out:
            for _, window in out.block_windows(1):
                out.write(to_db(ds.read(window=window)), window=window)
            out.descriptions = ds.descriptions
    return Path(dst)


def undersample(
    src: Source,
    dst: Source,
    factor: float | None = None,
    target_resolution: float | None = None,
    method: str = "average",
    project: Project | None = None,
) -> Path:
    """Reduce resolution like SNAP's Undersample: by an integer-or-real ``factor``, or to a
    ``target_resolution`` in CRS units; ``method`` is a resampling name (average, nearest...)."""
    if (factor is None) == (target_resolution is None):
        raise InvalidInput("give exactly one of factor or target_resolution")
    if method not in RESAMPLING:
        raise InvalidInput(f"method must be one of {sorted(RESAMPLING)}, got {method!r}")
    with open_raster(src, project) as ds:
        if target_resolution is not None:
            if target_resolution <= 0:
                raise InvalidInput(f"target_resolution must be positive, got {target_resolution}")
            factor = target_resolution / abs(ds.transform.a)
        assert factor is not None
        if factor < 1:
            raise InvalidInput(f"undersampling needs a factor >= 1, got {factor:g}")
        width, height = max(1, round(ds.width / factor)), max(1, round(ds.height / factor))
        data = ds.read(out_shape=(ds.count, height, width), resampling=RESAMPLING[method])
        transform = ds.transform @ ds.transform.scale(ds.width / width, ds.height / height)
        profile = _profile_like(ds, width=width, height=height, transform=transform)
        with _atomic(dst) as tmp, rasterio.open(tmp, "w", **profile) as out:
            out.write(data)
            out.descriptions = ds.descriptions
    return Path(dst)


def reproject(
    src: Source,
    dst: Source,
    crs: Any,
    resolution: float | None = None,
    method: str = "bilinear",
    project: Project | None = None,
) -> Path:
    """Warp to another CRS (e.g. ``"EPSG:4326"``), written atomically."""
    from rasterio.crs import CRS
    from rasterio.errors import CRSError
    from rasterio.warp import calculate_default_transform
    from rasterio.warp import reproject as warp

    if method not in RESAMPLING:
        raise InvalidInput(f"method must be one of {sorted(RESAMPLING)}, got {method!r}")
    try:
        target = CRS.from_user_input(crs)
    except (CRSError, ValueError) as exc:
        raise InvalidInput(f"unknown CRS {crs!r}: {exc}") from exc
    with open_raster(src, project) as ds:
        if ds.crs is None:
            raise InvalidInput("the raster has no CRS to reproject from")
        kwargs = {"resolution": resolution} if resolution else {}
        transform, width, height = calculate_default_transform(
            ds.crs, target, ds.width, ds.height, *ds.bounds, **kwargs
        )
        profile = _profile_like(ds, crs=target, transform=transform, width=width, height=height)
        with _atomic(dst) as tmp, rasterio.open(tmp, "w", **profile) as out:
            for band in range(1, ds.count + 1):
                warp(
                    source=rasterio.band(ds, band),
                    destination=rasterio.band(out, band),
                    src_transform=ds.transform,
                    src_crs=ds.crs,
                    dst_transform=transform,
                    dst_crs=target,
                    resampling=RESAMPLING[method],
                )
            out.descriptions = ds.descriptions
    return Path(dst)


# ---- tiling --------------------------------------------------------------------------------


@dataclass(slots=True)
class Chip:
    """One tile of a scene: its pixels (bands, size, size), where it is, and in which CRS."""

    id: str
    row: int
    col: int
    window: Window
    bounds: tuple[float, float, float, float]  # left, bottom, right, top in the scene's CRS
    crs: str
    data: np.ndarray

    def to_row(self, band_names: Sequence[str] | None = None) -> dict[str, Any]:
        """A feature-store style row: id, one float list per band, bounds and CRS."""
        names = band_names or [f"band_{i + 1}" for i in range(self.data.shape[0])]
        row: dict[str, Any] = {"id": self.id}
        for name, band in zip(names, self.data, strict=True):
            row[name] = band.astype("float32").ravel().tolist()
        left, bottom, right, top = self.bounds
        row.update(left=left, bottom=bottom, right=right, top=top, crs=self.crs)
        return row


def chip_windows(
    width: int, height: int, size: int = 75, stride: int | None = None, pad: bool = False
) -> list[Window]:
    """The windows of a ``size`` grid with ``stride`` (default: size); edge windows smaller than
    ``size`` are dropped unless ``pad``."""
    if size <= 0 or (stride is not None and stride <= 0):
        raise InvalidInput(f"size and stride must be positive, got {size}, {stride}")
    stride = stride or size
    windows = []
    for row in range(0, height, stride):
        for col in range(0, width, stride):
            full = row + size <= height and col + size <= width
            if full or (pad and row < height and col < width):
                windows.append(Window(col, row, size, size))
    return windows


def _window_bounds(t: Any, window: Window) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of a window: the affine map of its corners, computed directly
    (rasterio.windows.bounds costs more than the read of a 75x75 chip)."""
    c0, r0 = window.col_off, window.row_off
    c1, r1 = c0 + window.width, r0 + window.height
    if t.b == 0 and t.d == 0:  # north-up: two corners suffice
        x0, x1 = t.a * c0 + t.c, t.a * c1 + t.c
        y0, y1 = t.e * r0 + t.f, t.e * r1 + t.f
        return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)
    xs = [t.a * c + t.b * r + t.c for c, r in ((c0, r0), (c1, r0), (c0, r1), (c1, r1))]
    ys = [t.d * c + t.e * r + t.f for c, r in ((c0, r0), (c1, r0), (c0, r1), (c1, r1))]
    return min(xs), min(ys), max(xs), max(ys)


def _chip_id(scene_key: str, window: Window) -> str:
    digest = hashlib.sha1(f"{scene_key}:{window.row_off}:{window.col_off}".encode()).hexdigest()
    return digest[:8]


def _scene_key(ds: Any) -> str:
    return f"{Path(ds.name).name}:{ds.width}x{ds.height}"


def tile(
    src: Source,
    size: int = 75,
    stride: int | None = None,
    bands: Sequence[int] | None = None,
    pad: bool = False,
    project: Project | None = None,
    windows: Sequence[Window] | None = None,
) -> Iterator[Chip]:
    """Chips of ``size``×``size`` pixels, read window by window (never the whole scene).

    Edge chips smaller than ``size`` are dropped unless ``pad=True`` (then filled with the
    nodata value, NaN for floats). Chip ids are stable for a scene and window.
    """
    with open_raster(src, project) as ds:
        if ds.crs is None:
            raise InvalidInput(
                f"{os.fspath(src)!r} has no CRS: chips need geographic bounds",
                details={"field": "crs"},
            )
        indexes = _band_list(ds, bands) if bands is not None else None  # None: all, read fastest
        crs = ds.crs.to_string()
        key = _scene_key(ds)
        fill = (
            ds.nodata
            if ds.nodata is not None
            else (np.nan if ds.dtypes[0].startswith("float") else 0)
        )
        for window in (
            windows if windows is not None else chip_windows(ds.width, ds.height, size, stride, pad)
        ):
            try:
                if pad:
                    data = ds.read(indexes, window=window, boundless=True, fill_value=fill)
                else:
                    data = ds.read(indexes, window=window)
            except RasterioError as exc:
                raise InvalidInput(f"cannot read {os.fspath(src)!r} at {window}: {exc}") from exc
            left, bottom, right, top = _window_bounds(ds.transform, window)
            yield Chip(
                id=_chip_id(key, window),
                row=int(window.row_off),
                col=int(window.col_off),
                window=window,
                bounds=(left, bottom, right, top),
                crs=crs,
                data=data,
            )


class _TileWindows:
    """Picklable worker task: open the scene once and read its share of windows."""

    def __init__(
        self, path: str, bands: Sequence[int] | None, pad: bool, out_dir: str | None
    ) -> None:
        self.path, self.bands, self.pad, self.out_dir = path, bands, pad, out_dir

    def __call__(self, windows: list[tuple[int, int, int, int]]) -> list[dict[str, Any]]:
        wins = [Window(*w) for w in windows]
        out = []
        for chip in tile(self.path, bands=self.bands, pad=self.pad, windows=wins):
            if self.out_dir is not None:
                np.save(Path(self.out_dir) / f"{chip.id}.npy", chip.data)
                out.append({"id": chip.id, "row": chip.row, "col": chip.col, "bounds": chip.bounds})
            else:
                out.append(chip.to_row())
        return out


def tile_parallel(
    src: Source,
    engine: Any = None,
    size: int = 75,
    stride: int | None = None,
    bands: Sequence[int] | None = None,
    pad: bool = False,
    out_dir: Source | None = None,
    partitions: int | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Tile a large scene on an engine: windows are split between workers, each opening the
    scene itself. Returns rows (id, bands, bounds, crs), or with ``out_dir`` writes one
    ``.npy`` per chip and returns their ids and bounds (bounded driver memory)."""
    from eolab.engine import get_engine, split

    engine = engine or get_engine()
    path = os.fspath(src)
    with open_raster(path) as ds:
        if ds.crs is None:
            raise InvalidInput(f"{path!r} has no CRS: chips need geographic bounds")
        _band_list(ds, bands)
        windows = chip_windows(ds.width, ds.height, size, stride, pad)
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    tuples = [(int(w.col_off), int(w.row_off), int(w.width), int(w.height)) for w in windows]
    parts = split(tuples, partitions or engine.parallelism * 4)
    task = _TileWindows(
        path, list(bands) if bands else None, pad, os.fspath(out_dir) if out_dir else None
    )
    return engine.map_partitions(task, parts, desc=f"tile {Path(path).name}", progress=progress)


def quicklook_png(
    src: Source, band: int = 1, max_size: int = 256, project: Project | None = None
) -> bytes:
    """A small grey PNG of one band (2–98 % stretch), read decimated: a picture, not data."""
    import io

    from PIL import Image

    with open_raster(src, project) as ds:
        _check_band(ds, band)
        scale = max(ds.width, ds.height) / max_size
        width, height = (
            max(1, int(ds.width / max(scale, 1))),
            max(1, int(ds.height / max(scale, 1))),
        )
        data = ds.read(band, out_shape=(height, width), resampling=Resampling.average).astype(
            "float64"
        )
        if ds.nodata is not None and not np.isnan(ds.nodata):
            data[data == ds.nodata] = np.nan
    finite = data[np.isfinite(data)]
    low, high = np.percentile(finite, [2, 98]) if finite.size else (0.0, 1.0)
    scaled = np.clip((data - low) / ((high - low) or 1.0), 0, 1)
    pixels = np.nan_to_num(scaled * 255).astype("uint8")
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()
