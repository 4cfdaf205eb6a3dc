"""A quick look at a file without reading all of it: text head, Parquet schema, raster facts."""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Any

from eolab.errors import InvalidInput

TEXT_SUFFIXES = {
    ".txt",
    ".csv",
    ".tsv",
    ".json",
    ".jsonl",
    ".md",
    ".log",
    ".yaml",
    ".yml",
    ".xml",
    ".py",
}
RASTER_SUFFIXES = {".tif", ".tiff", ".jp2", ".img", ".vrt", ".nc", ".hdf", ".h5"}
MAX_LINE_CHARS = 2000


def preview(path: Path, lines: int = 20) -> dict[str, Any]:
    """What a file holds, shaped by its kind: ``text``, ``parquet``, ``raster`` or ``binary``."""
    if not 1 <= lines <= 1000:
        raise InvalidInput(f"lines must be 1..1000, got {lines}")
    if path.is_dir():
        raise InvalidInput(f"{path.name!r} is a folder; preview a file")
    suffix = path.suffix.lower()
    size = path.stat().st_size
    if suffix == ".parquet":
        return {"kind": "parquet", "size": size, **_parquet(path, lines)}
    if suffix in RASTER_SUFFIXES:
        return {"kind": "raster", "size": size, **_raster(path)}
    if suffix in TEXT_SUFFIXES or _looks_like_text(path):
        return {"kind": "text", "size": size, "lines": _head(path, lines)}
    return {"kind": "binary", "size": size}


def _looks_like_text(path: Path) -> bool:
    with open(path, "rb") as fh:
        sample = fh.read(4096)
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(sample) - 4  # cut inside a multi-byte character
    return True


def _head(path: Path, lines: int) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return [line.rstrip("\r\n")[:MAX_LINE_CHARS] for line in islice(fh, lines)]


def _parquet(path: Path, rows: int) -> dict[str, Any]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for a bad file
        raise InvalidInput(f"{path.name!r} is not a readable Parquet file: {exc}") from exc
    schema = [{"name": f.name, "type": str(f.type)} for f in pf.schema_arrow]
    head = next(pf.iter_batches(batch_size=rows), None)
    records = head.to_pylist() if head is not None else []
    for record in records:  # long arrays (bands) are shortened for display
        for key, value in record.items():
            if isinstance(value, list) and len(value) > 8:
                record[key] = value[:8] + [f"… {len(value)} values"]
    return {"num_rows": pf.metadata.num_rows, "schema": schema, "rows": records}


def _raster(path: Path) -> dict[str, Any]:
    import rasterio
    from rasterio.errors import RasterioIOError

    try:
        with rasterio.open(path) as src:
            return {
                "driver": src.driver,
                "width": src.width,
                "height": src.height,
                "bands": src.count,
                "dtypes": list(src.dtypes),
                "crs": src.crs.to_string() if src.crs else None,
                "transform": list(src.transform)[:6],
                "bounds": list(src.bounds),
                "nodata": src.nodata,
                "descriptions": [d or "" for d in src.descriptions],
            }
    except RasterioIOError as exc:
        raise InvalidInput(f"{path.name!r} is not a readable raster: {exc}") from exc
