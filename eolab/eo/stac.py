"""Ingest the assets of STAC items (a static catalog or a STAC API) into a project dataset.

Items are found and filtered (bbox, datetime, collection, asset keys) before anything moves;
each asset lands through the same staged uploads as S3 ingestion (``ingest.py``), and each file
is tagged ``stac_item`` with its item's metadata.
"""

from __future__ import annotations

import json
import logging
import math
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta
from datetime import datetime as DateTime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from eolab.config import Settings
from eolab.datasets.api import DatasetApi, FileInfo
from eolab.datasets.paths import clean_parts
from eolab.eo.s3 import parse_s3_url, s3_client, translate_s3_error
from eolab.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidPath,
    NotFound,
    ValidationFailed,
)
from eolab.widgets.progress import progress_bar

if TYPE_CHECKING:
    import pystac

    from eolab.projects import Project

from eolab.eo.ingest import (
    BLOCK,
    HTTP_TIMEOUT_S,
    IngestResult,
    _base_path,
    _Landing,
    _relative,
)

log = logging.getLogger(__name__)

STAC_TAG_SCHEMA = "stac_item"
STAC_ITEM_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "STAC item",
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "collection": {"type": ["string", "null"]},
        "datetime": {"type": ["string", "null"]},
        "bbox": {"type": "array", "items": {"type": "number"}},
        "properties": {"type": "object"},
    },
    "required": ["id", "collection", "datetime", "bbox", "properties"],
}
# Media types of GeoTIFFs and COGs ("image/tiff; application=geotiff; profile=cloud-optimized").
_GEOTIFF = re.compile(r"^\s*image/(tiff|vnd\.stac\.geotiff)\b", re.IGNORECASE)


# ---- STAC: input checks --------------------------------------------------------------------


def _check_bbox(bbox: Any) -> tuple[float, float, float, float] | None:
    if bbox is None:
        return None
    if (
        isinstance(bbox, str | bytes)
        or not isinstance(bbox, Sequence)
        or len(bbox) != 4
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in bbox)
        or not all(math.isfinite(v) for v in bbox)
    ):
        raise InvalidInput(f"bbox is 4 numbers [min_lon, min_lat, max_lon, max_lat], got {bbox!r}")
    west, south, east, north = (float(v) for v in bbox)
    if west > east or south > north:
        raise InvalidInput(
            f"bbox {list(bbox)!r} has a minimum above its maximum; "
            "expected [min_lon, min_lat, max_lon, max_lat]"
        )
    return west, south, east, north


_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


def _instant(text: str, end: bool, given: str) -> DateTime:
    """An RFC 3339 time, or a year / year-month / date meaning its start (or, at an interval's
    end, its last instant); naive times are UTC."""
    partial = _PARTIAL_DATE.match(text)
    try:
        if partial:
            year, month, day = (int(g) if g else None for g in partial.groups())
            start = DateTime(year, month or 1, day or 1, tzinfo=UTC)  # type: ignore[arg-type]
            if not end:
                return start
            if day:
                after = start + timedelta(days=1)
            elif month:
                after = (start + timedelta(days=32)).replace(day=1)
            else:
                after = start.replace(year=start.year + 1)
            return after - timedelta(microseconds=1)
        value = DateTime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(
            f"datetime is an RFC 3339 time or an interval 'start/end' (either end may be '..'), "
            f"got {given!r}"
        ) from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _check_interval(value: Any) -> tuple[DateTime | None, DateTime | None] | None:
    if value is None:
        return None
    if isinstance(value, DateTime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment, moment
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"datetime is a string like '2020-01-01/2020-02-01', got {value!r}")
    parts = [p.strip() for p in value.split("/")]
    if len(parts) == 1:
        return _instant(parts[0], False, value), _instant(parts[0], True, value)
    if len(parts) != 2:
        raise InvalidInput(f"a datetime interval is 'start/end', got {value!r}")
    start = None if parts[0] in ("", "..") else _instant(parts[0], False, value)
    end = None if parts[1] in ("", "..") else _instant(parts[1], True, value)
    if start is None and end is None:
        raise InvalidInput(f"datetime interval {value!r} is open at both ends")
    if start is not None and end is not None and start > end:
        raise InvalidInput(f"datetime interval {value!r} ends before it starts")
    return start, end


def _check_assets(assets: Any) -> list[str] | None:
    if assets is None:
        return None
    if isinstance(assets, str):
        assets = [assets]
    if (
        not isinstance(assets, Sequence)
        or not assets
        or not all(isinstance(a, str) and a for a in assets)
    ):
        raise InvalidInput(f"assets is a non-empty list of asset keys, got {assets!r}")
    return list(dict.fromkeys(assets))


def _check_limit(limit: Any) -> int | None:
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise InvalidInput(f"limit is a positive number of items, got {limit!r}")
    return limit


# ---- STAC: finding items -------------------------------------------------------------------


def _is_static(url: str) -> bool:
    """Local paths, file:// URLs and http(s) URLs of a ``.json`` document are static catalogs;
    any other http(s) URL is taken for a STAC API."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        return parts.path.lower().endswith(".json")
    return True


def _static_href(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        return url
    if parts.scheme not in ("", "file") and len(parts.scheme) > 1:  # 1 letter: a Windows drive
        raise InvalidInput(f"a STAC catalog is a path, file://, http(s):// URL, got {url!r}")
    path = Path(url2pathname(parts.path) if parts.scheme == "file" else url).expanduser()
    if path.is_dir():
        found = [path / n for n in ("catalog.json", "collection.json") if (path / n).is_file()]
        if not found:
            raise NotFound(f"no catalog.json or collection.json in {str(path)!r}")
        path = found[0]
    if not path.is_file():
        raise NotFound(f"no STAC catalog at {str(path)!r}")
    return str(path.resolve())


def _read_static(url: str) -> pystac.Catalog:
    import pystac

    href = _static_href(url)
    try:
        root = pystac.read_file(href)
    except FileNotFoundError as exc:
        raise NotFound(f"no STAC catalog at {url!r}") from exc
    except OSError as exc:  # urllib's HTTPError and URLError are OSErrors
        if getattr(exc, "code", None) == 404:
            raise NotFound(f"no STAC catalog at {url!r}") from exc
        raise InvalidInput(f"cannot read the STAC catalog {url!r}: {exc}") from exc
    except (pystac.STACError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"{url!r} is not a readable STAC catalog: {exc}") from exc
    if not isinstance(root, pystac.Catalog):
        raise InvalidInput(
            f"{url!r} is a STAC {type(root).__name__}; give its catalog or collection"
        )
    return root


def _item_bbox(item: pystac.Item) -> tuple[float, float, float, float] | None:
    box = item.bbox
    if not box or len(box) not in (4, 6):
        return None
    half = len(box) // 2
    return box[0], box[1], box[half], box[half + 1]


def _item_times(item: pystac.Item) -> tuple[DateTime, DateTime] | None:
    start = item.datetime or item.common_metadata.start_datetime
    end = item.datetime or item.common_metadata.end_datetime or start
    if start is None or end is None:
        return None
    utc = [t if t.tzinfo else t.replace(tzinfo=UTC) for t in (start, end)]
    return utc[0], utc[1]


def _matches(
    item: pystac.Item,
    collection: str | None,
    bbox: tuple[float, float, float, float] | None,
    interval: tuple[DateTime | None, DateTime | None] | None,
) -> bool:
    if collection is not None and item.collection_id != collection:
        return False
    if bbox is not None:
        box = _item_bbox(item)
        west, south, east, north = bbox
        if box is None or box[0] > east or box[2] < west or box[1] > north or box[3] < south:
            return False
    if interval is not None:
        times = _item_times(item)
        start, end = interval
        if times is None or (start and times[1] < start) or (end and times[0] > end):
            return False
    return True


def _static_items(
    url: str,
    collection: str | None,
    bbox: tuple[float, float, float, float] | None,
    interval: tuple[DateTime | None, DateTime | None] | None,
    limit: int | None,
) -> list[pystac.Item]:
    import pystac

    root = _read_static(url)
    items = list(root.get_items(recursive=True))
    if collection is not None:
        known = {c.id for c in root.get_all_collections()}
        known |= {root.id} if isinstance(root, pystac.Collection) else set()
        known |= {i.collection_id for i in items if i.collection_id}
        if collection not in known:
            raise NotFound(
                f"no collection {collection!r} in the STAC catalog {url!r}; it has {sorted(known)}",
                details={"collection": collection, "known": sorted(known)},
            )
    chosen = [i for i in items if _matches(i, collection, bbox, interval)]
    return chosen[:limit] if limit else chosen


def _utc_text(moment: DateTime | None) -> str:
    return ".." if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _api_items(
    url: str,
    collection: str | None,
    bbox: tuple[float, float, float, float] | None,
    interval: tuple[DateTime | None, DateTime | None] | None,
    limit: int | None,
) -> list[pystac.Item]:
    import pystac
    import requests
    from pystac_client import Client
    from pystac_client.exceptions import APIError
    from pystac_client.warnings import DoesNotConformTo

    try:
        client = Client.open(url, timeout=HTTP_TIMEOUT_S)
        if collection is not None:
            found = client.get_collection(collection)
            # without the collections conformance pystac-client answers the last collection
            if found is None or found.id != collection:
                raise NotFound(
                    f"no collection {collection!r} in the STAC API {url!r}",
                    details={"collection": collection},
                )
        # POST only where the API offers it (a search link without "method" means GET);
        # pystac-client counts the search links of a JSON media type, and POSTs by default
        json_types = (pystac.MediaType.GEOJSON, pystac.MediaType.JSON)
        links = [link for link in client.get_links("search") if link.media_type in json_types]
        methods = {str(link.extra_fields.get("method") or "GET") for link in links}
        search = client.search(
            method="POST" if "POST" in methods else "GET",
            collections=[collection] if collection else None,
            bbox=list(bbox) if bbox else None,
            datetime=f"{_utc_text(interval[0])}/{_utc_text(interval[1])}" if interval else None,
            max_items=limit,
        )
        return list(search.items())
    except APIError as exc:  # pystac-client's wrapping of HTTP errors and failed connections
        status = getattr(exc, "status_code", None)
        if status == 404:
            raise NotFound(f"no STAC API at {url!r}: {exc}") from exc
        if status is None:
            raise InvalidInput(f"cannot reach the STAC API {url!r}: {exc}") from exc
        raise InvalidInput(f"the STAC API {url!r} refused the search: {exc}") from exc
    except DoesNotConformTo as exc:
        raise InvalidInput(
            f"{url!r} is no STAC API with item search (it lacks {exc}); "
            "for a static catalog give the URL of its catalog.json"
        ) from exc
    except requests.RequestException as exc:
        raise InvalidInput(f"cannot reach the STAC API {url!r}: {exc}") from exc
    except (pystac.STACError, NotImplementedError, ValueError, KeyError) as exc:
        raise InvalidInput(f"{url!r} is not a usable STAC API: {exc}") from exc


# ---- STAC: assets --------------------------------------------------------------------------


@dataclass
class _Asset:
    item: pystac.Item
    key: str
    href: str
    kind: str  # "file", "s3" or "http"
    size: int | None  # None when an http server does not say
    etag: str = ""
    dest: str = ""


def _asset_keys(item: pystac.Item, wanted: list[str] | None) -> list[str]:
    if wanted is not None:
        missing = [k for k in wanted if k not in item.assets]
        if missing:
            raise NotFound(
                f"STAC item {item.id!r} has no asset {missing[0]!r}; it has {sorted(item.assets)}",
                details={"item": item.id, "missing": missing, "assets": sorted(item.assets)},
            )
        return wanted
    tiffs = [k for k, a in item.assets.items() if a.media_type and _GEOTIFF.match(a.media_type)]
    return tiffs or list(item.assets)


def _probe(item: pystac.Item, key: str, settings: Settings, s3: Callable[[], Any]) -> _Asset:
    """Where an asset is and how big, checked before anything is written."""
    href = item.assets[key].get_absolute_href()
    what = f"asset {key!r} of STAC item {item.id!r}"
    if not href:
        raise InvalidInput(f"{what} has a relative href and the item has no location")
    parts = urlsplit(href)
    if parts.scheme in ("http", "https"):
        import requests

        try:
            head = requests.head(href, allow_redirects=True, timeout=HTTP_TIMEOUT_S)
        except requests.RequestException as exc:
            raise InvalidInput(f"cannot reach {what} at {href!r}: {exc}") from exc
        if head.status_code == 404:
            raise NotFound(f"{what} is missing: {href!r} answers 404")
        length = head.headers.get("Content-Length")
        plain = head.ok and length and length.isdigit() and not head.headers.get("Content-Encoding")
        return _Asset(item, key, href, "http", int(length) if plain else None)
    if parts.scheme == "s3":
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, object_key = parse_s3_url(href)
        try:
            head = s3().head_object(Bucket=bucket, Key=object_key)
        except (BotoCoreError, ClientError) as exc:
            raise translate_s3_error(exc, href, settings) from exc
        return _Asset(item, key, href, "s3", int(head["ContentLength"]), head.get("ETag", ""))
    if parts.scheme not in ("", "file") and len(parts.scheme) > 1:
        raise InvalidInput(f"{what} has an href eolab cannot fetch: {href!r}")
    path = Path(url2pathname(parts.path) if parts.scheme == "file" else href)
    if not path.is_file():
        raise NotFound(f"{what} is missing: no file {str(path)!r}")
    return _Asset(item, key, str(path), "file", path.stat().st_size)


def _file_name(asset: _Asset) -> str:
    """The last segment of the asset's path (of the URL's path, unquoted, for remote ones)."""
    if asset.kind == "file":
        name = Path(asset.href).name
    else:
        name = PurePosixPath(unquote(urlsplit(asset.href).path)).name
    return _relative(name, f"asset {asset.key!r} of STAC item {asset.item.id!r} ({asset.href!r})")


def _place(assets: list[_Asset], base: str) -> None:
    """Set each asset's dataset path ``base/<item id>/<file name>``; within an item, file names
    that clash are told apart by their asset key."""
    for asset in assets:
        item_id = asset.item.id
        try:
            fits = clean_parts(item_id) == [item_id]
        except InvalidPath:
            fits = False
        if not fits:
            raise InvalidPath(f"STAC item id {item_id!r} cannot name a folder")
    names: dict[tuple[str, str], list[_Asset]] = {}
    for asset in assets:
        names.setdefault((asset.item.id, _file_name(asset)), []).append(asset)
    for (item_id, name), group in names.items():
        for asset in group:
            unique = name if len(group) == 1 else f"{asset.key}-{name}"
            asset.dest = f"{base}/{item_id}/{unique}"


def _download(
    api: DatasetApi, asset: _Asset, s3: Callable[[], Any], settings: Settings
) -> FileInfo:
    if asset.kind == "file":
        return api.upload(asset.href, asset.dest, progress=False)
    if asset.kind == "s3":
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, key = parse_s3_url(asset.href)
        pin = {"IfMatch": asset.etag} if asset.etag else {}
        try:
            with s3().get_object(Bucket=bucket, Key=key, **pin)["Body"] as body:
                return api.upload_stream(body, asset.dest, int(asset.size or 0))
        except (BotoCoreError, ClientError) as exc:
            raise translate_s3_error(exc, asset.href, settings) from exc
    import requests
    import urllib3

    try:
        with requests.get(asset.href, stream=True, timeout=HTTP_TIMEOUT_S) as response:
            response.raise_for_status()
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and not response.headers.get("Content-Encoding"):
                return api.upload_stream(response.raw, asset.dest, int(length))
            return _spooled(api, response.iter_content(BLOCK), asset.dest)
    except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:  # raw reads: urllib3
        raise InvalidInput(f"cannot download {asset.href!r}: {exc}") from exc


def _spooled(api: DatasetApi, blocks: Iterable[bytes], dest: str) -> FileInfo:
    """Upload a body of unknown length through a temporary file (the upload needs a size)."""
    folder = Path(tempfile.mkdtemp(prefix="eolab-ingest-"))
    try:
        path = folder / PurePosixPath(dest).name
        with open(path, "wb") as fh:
            for block in blocks:
                fh.write(block)
        return api.upload(path, dest, progress=False)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ---- STAC: tags ----------------------------------------------------------------------------


def _tag_value(item: pystac.Item) -> dict[str, Any]:
    moment = item.datetime
    return {
        "id": item.id,
        "collection": item.collection_id,
        "datetime": _utc_text(moment) if moment else None,
        "bbox": [float(v) for v in item.bbox or []],
        "properties": json.loads(json.dumps(item.properties, default=str)),
    }


def _stac_schema(project: Project) -> dict[str, Any]:
    """The ``stac_item`` tag schema, created on first use (only an admin may)."""
    ws = project.workspace
    try:
        return ws.get_tag_schema(STAC_TAG_SCHEMA).schema
    except NotFound:
        pass
    try:
        return ws.create_tag_schema(
            STAC_TAG_SCHEMA, STAC_ITEM_SCHEMA, "STAC item of an ingested asset"
        ).schema
    except Conflict:  # created meanwhile by someone else
        return ws.get_tag_schema(STAC_TAG_SCHEMA).schema
    except Forbidden as exc:
        raise Forbidden(
            f"the tag schema {STAC_TAG_SCHEMA!r} does not exist yet and only a workspace admin "
            f"may create it ({exc.message}); ask an admin to run the first STAC ingestion"
        ) from exc


def _check_tags(schema: dict[str, Any], values: Iterable[dict[str, Any]]) -> None:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    for value in values:
        error = next(iter(validator.iter_errors(value)), None)
        if error is not None:
            raise ValidationFailed(
                f"the tag schema {STAC_TAG_SCHEMA!r} refuses STAC item {value['id']!r}: "
                f"{error.message}",
                details={"schema": STAC_TAG_SCHEMA, "item": value["id"]},
            )


def ingest_stac(
    project: Project,
    catalog_or_api_url: str,
    collection: str | None = None,
    bbox: Sequence[float] | None = None,
    datetime: str | None = None,
    assets: Sequence[str] | None = None,
    dataset: str = "eodata",
    dest_folder: str = "stac",
    limit: int | None = None,
    progress: bool = True,
) -> IngestResult:
    """Download the assets of the STAC items that match, each tagged ``stac_item`` with its item.

    ``catalog_or_api_url`` is a static catalog (a path, file:// or http(s) URL of
    ``catalog.json``/``collection.json``, filtered here) or a STAC API (searched with
    pystac-client). ``bbox`` is [min_lon, min_lat, max_lon, max_lat]; ``datetime`` an RFC 3339
    time or ``start/end`` with ``..`` for an open end. ``assets`` picks asset keys (default:
    the GeoTIFF/COG assets, or every asset of an item that has none). Files land at
    ``dataset/dest_folder/<item id>/<asset file name>``.
    """
    api = project.get_dataset_api()
    base = _base_path(api, dataset, dest_folder)
    if not isinstance(catalog_or_api_url, str) or not catalog_or_api_url.strip():
        raise InvalidInput(
            f"a STAC catalog path or API URL is expected, got {catalog_or_api_url!r}"
        )
    if collection is not None and (not isinstance(collection, str) or not collection):
        raise InvalidInput(f"collection is a collection id, got {collection!r}")
    box, interval = _check_bbox(bbox), _check_interval(datetime)
    wanted, limit = _check_assets(assets), _check_limit(limit)
    find = _static_items if _is_static(catalog_or_api_url) else _api_items
    items = find(catalog_or_api_url, collection, box, interval, limit)
    if not items:
        log.warning("no STAC items in %s match the filters", catalog_or_api_url)
    settings = project.workspace.settings
    clients: list[Any] = []

    def s3() -> Any:
        if not clients:
            clients.append(s3_client(settings))
        return clients[0]

    keys = [(item, key) for item in items for key in _asset_keys(item, wanted)]
    found = [_probe(item, key, settings, s3) for item, key in keys]
    _place(found, base)
    landing = _Landing(api)
    present = landing.plan([(a.dest, a.size) for a in found])
    values = {item.id: _tag_value(item) for item in items}
    if found:
        _check_tags(_stac_schema(project), values.values())
    files: list[FileInfo] = []
    todo = sum(p is None for p in present)
    with landing.writing(), progress_bar(todo, "ingest STAC assets", progress, unit="asset") as bar:
        advance = bar.update
        for asset, there in zip(found, present, strict=True):
            if there is None:
                landing.make_parent(asset.dest)
                there = _download(api, asset, s3, settings)
                advance(1)
            api.add_tag(asset.dest, STAC_TAG_SCHEMA, values[asset.item.id])
            files.append(there)
    result = IngestResult(files, skipped=len(found) - todo)
    log.info("ingested STAC %s into %s: %r", catalog_or_api_url, base, result)
    return result


__all__ = ["STAC_ITEM_SCHEMA", "STAC_TAG_SCHEMA", "ingest_stac"]
