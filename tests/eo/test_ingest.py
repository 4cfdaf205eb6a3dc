"""Ingestion into a dataset from S3 (a real moto_server) and from STAC (real pystac static
catalogs in tmp folders, and a small STAC API served on 127.0.0.1), with real GeoTIFF assets."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pystac
import pytest
import rasterio
from affine import Affine

import eolab
from eolab.datasets.api import DatasetApi
from eolab.eo.ingest import ingest_s3
from eolab.eo.s3 import s3_client
from eolab.eo.stac import STAC_TAG_SCHEMA, ingest_stac
from eolab.errors import (
    ConfigurationError,
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidPath,
    NotFound,
)

# ---- fixtures: moto, GeoTIFFs, catalogs, a STAC API ------------------------------------------


def _free_port() -> int:
    """A port nobody listens on (for 'unreachable' cases)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def s3(s3_env: str) -> Any:
    return s3_client()


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"eolab-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def write_geotiff(path: Path, seed: int = 0, size: int = 16) -> bytes:
    """A small real GeoTIFF (one band, UTM 33N); returns its bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.random.default_rng(seed).integers(0, 255, (1, size, size), dtype="uint8")
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "uint8"}
    transform = Affine(10, 0, 500000 + 1000 * seed, 0, -10, 7000000)
    with rasterio.open(path, "w", crs="EPSG:32633", transform=transform, **profile) as dst:
        dst.write(data)
    return path.read_bytes()


def snapshot(project: eolab.Project) -> list[tuple[str, int]]:
    """Everything under DataSets/ (path, size) and under .staging/uploads (size -1)."""
    root = project.root
    files = [
        (p.relative_to(root).as_posix(), p.stat().st_size if p.is_file() else 0)
        for p in sorted((root / "DataSets").rglob("*"))
    ]
    staging = root / ".staging" / "uploads"
    return files + [(p.name, -1) for p in sorted(staging.iterdir())] if staging.exists() else files


def staging_is_empty(project: eolab.Project) -> bool:
    staging = project.root / ".staging" / "uploads"
    return not staging.exists() or not any(staging.iterdir())


# Items of the static catalog: collection, id, bbox, datetime, platform.
ITEMS = [
    ("s1", "S1A_20200105", [10.0, 60.0, 11.0, 61.0], datetime(2020, 1, 5, 6, tzinfo=UTC), "s1a"),
    ("s1", "S1B_20200210", [20.0, 70.0, 21.0, 71.0], datetime(2020, 2, 10, 6, tzinfo=UTC), "s1b"),
    ("s2", "S2A_20200107", [10.5, 60.5, 12.0, 62.0], datetime(2020, 1, 7, 10, tzinfo=UTC), "s2a"),
]


def _geometry(bbox: list[float]) -> dict[str, Any]:
    w, s, e, n = bbox
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


@pytest.fixture
def catalog(tmp_path: Path) -> dict[str, Any]:
    """A self-contained static catalog on disk: collections s1 (two items, each a COG ``vv``
    and a PNG ``thumbnail``) and s2 (one item without GeoTIFFs: ``preview`` PNG and ``info``
    text); relative asset hrefs. Returns its path and each asset's bytes."""
    root_dir = tmp_path / "catalog"
    cat = pystac.Catalog("arctic", "Arctic EO test catalog")
    blobs: dict[str, bytes] = {}
    for index, (coll_id, item_id, bbox, when, platform) in enumerate(ITEMS):
        coll = cat.get_child(coll_id)
        if coll is None:
            extent = pystac.Extent(
                pystac.SpatialExtent([[-180.0, -90.0, 180.0, 90.0]]),
                pystac.TemporalExtent([[datetime(2020, 1, 1, tzinfo=UTC), None]]),
            )
            coll = pystac.Collection(coll_id, f"collection {coll_id}", extent)
            cat.add_child(coll)
        item = pystac.Item(item_id, _geometry(bbox), bbox, when, {"platform": platform})
        coll.add_item(item)
        folder = root_dir / coll_id / item_id
        if coll_id == "s1":
            blobs[f"{item_id}/vv.tif"] = write_geotiff(folder / "vv.tif", seed=index)
            assets = {
                "vv": ("vv.tif", pystac.MediaType.COG),
                "thumbnail": ("thumb.png", "image/png"),
            }
        else:
            assets = {"preview": ("preview.png", "image/png"), "info": ("info.txt", "text/plain")}
        for key, (name, media) in assets.items():
            if name not in ("vv.tif",):
                folder.mkdir(parents=True, exist_ok=True)
                blobs[f"{item_id}/{name}"] = f"{item_id} {key}".encode() * 10
                (folder / name).write_bytes(blobs[f"{item_id}/{name}"])
            item.add_asset(key, pystac.Asset(str(folder / name), media_type=media))
    cat.normalize_hrefs(str(root_dir))
    cat.make_all_asset_hrefs_relative()
    cat.save(pystac.CatalogType.SELF_CONTAINED)
    return {"path": root_dir / "catalog.json", "dir": root_dir, "blobs": blobs}


class _StacHandler(BaseHTTPRequestHandler):
    """A tiny STAC API (landing page, collections, item search) plus static files."""

    server: Any

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, kind: str, length: bool = True) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value: Any) -> None:
        self._send(status, json.dumps(value).encode(), "application/json")

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        self._search(body)

    def do_GET(self) -> None:
        state, path = self.server.state, urlsplit(self.path).path
        base = state["base"]
        if path.startswith("/files/"):  # static files, with Content-Length
            file = state["files"] / path[len("/files/") :]
            return self._send(200, file.read_bytes(), "application/octet-stream")
        if path.startswith("/nolength/"):  # the same, without Content-Length
            self.close_connection = True
            file = state["files"] / path[len("/nolength/") :]
            return self._send(200, file.read_bytes(), "application/octet-stream", length=False)
        if path.startswith("/fail/"):  # a HEAD that promises bytes, a GET that fails
            status = 200 if self.command == "HEAD" else 500
            return self._send(status, b"x" * 10, "application/octet-stream")
        if path == "/":
            return self._json(200, state["landing"])
        if path == "/collections":
            return self._json(
                200, {"collections": list(state["collections"].values()), "links": []}
            )
        if path.startswith("/collections/"):
            coll = state["collections"].get(path.split("/")[2])
            return self._json(200, coll) if coll else self._json(404, {"description": "no"})
        if path == "/search":
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            for key in ("collections", "bbox"):
                if key in query:
                    query[key] = query[key].split(",")
            return self._search(query)
        return self._json(404, {"description": f"no route {path} at {base}"})

    def _search(self, query: dict[str, Any]) -> None:
        state = self.server.state
        state["searches"].append({"method": self.command, **query})
        wanted = query.get("collections")
        feats = [f for f in state["items"] if not wanted or f["collection"] in wanted]
        self._json(200, {"type": "FeatureCollection", "features": feats, "links": []})


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The STAC API on 127.0.0.1; ``state`` holds its collections, items and searches seen."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StacHandler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    conforms = [
        "https://api.stacspec.org/v1.0.0/core",
        "https://api.stacspec.org/v1.0.0/item-search",
        "https://api.stacspec.org/v1.0.0/collections",
    ]
    links = [
        {"rel": "self", "href": base + "/", "type": "application/json"},
        {"rel": "root", "href": base + "/", "type": "application/json"},
        {"rel": "data", "href": base + "/collections", "type": "application/json"},
        {"rel": "search", "href": base + "/search", "type": "application/geo+json"},
        {"rel": "search", "href": base + "/search", "type": "application/json", "method": "POST"},
    ]
    files = tmp_path / "served"
    files.mkdir()
    server.state = {
        "base": base,
        "files": files,
        "landing": {
            "type": "Catalog",
            "id": "api",
            "description": "test STAC API",
            "stac_version": "1.0.0",
            "conformsTo": conforms,
            "links": links,
        },
        "collections": {},
        "items": [],
        "searches": [],
    }
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.state
    finally:
        server.shutdown()
        server.server_close()


def _api_collection(base: str, coll_id: str) -> dict[str, Any]:
    return {
        "type": "Collection",
        "id": coll_id,
        "stac_version": "1.0.0",
        "description": coll_id,
        "license": "proprietary",
        "extent": {
            "spatial": {"bbox": [[-180, -90, 180, 90]]},
            "temporal": {"interval": [["2020-01-01T00:00:00Z", None]]},
        },
        "links": [{"rel": "self", "href": f"{base}/collections/{coll_id}"}],
    }


def _api_item(coll_id: str, item_id: str, assets: dict[str, dict[str, str]]) -> dict[str, Any]:
    bbox = [10.0, 60.0, 11.0, 61.0]
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": item_id,
        "collection": coll_id,
        "geometry": _geometry(bbox),
        "bbox": bbox,
        "properties": {"datetime": "2020-01-05T06:00:00Z", "platform": "sentinel-1a"},
        "links": [],
        "assets": assets,
    }


def _tags(datasets: DatasetApi, path: str) -> dict[str, Any]:
    return datasets.get_tags(path)[STAC_TAG_SCHEMA]


# ---- S3: happy paths -----------------------------------------------------------------------


def _put(s3: Any, bucket: str, objects: dict[str, bytes]) -> None:
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)


def test_ingest_s3_copies_objects_byte_identical_into_folders(
    s3: Any, bucket: str, datasets: DatasetApi, project: eolab.Project, tmp_path: Path
) -> None:
    objects = {
        "scenes/a.tif": write_geotiff(tmp_path / "a.tif", seed=1),
        "scenes/2020/01/b.tif": write_geotiff(tmp_path / "b.tif", seed=2, size=40),
        "scenes/2020/notes.txt": b"calibrated with S1TBX",
        "scenes/empty.bin": b"",
        "other/c.tif": b"outside the prefix",
    }
    _put(s3, bucket, objects)
    s3.put_object(Bucket=bucket, Key="scenes/marker/", Body=b"")  # a "folder" object

    result = ingest_s3(project, bucket, "scenes/", "eodata", dest_folder="raw", progress=False)

    expected = {k[len("scenes/") :]: v for k, v in objects.items() if k.startswith("scenes/")}
    assert sorted(f.path for f in result) == sorted(f"eodata/raw/{k}" for k in expected)
    assert (result.copied, result.skipped) == (4, 0)
    for rel, body in expected.items():
        assert datasets.local_path(f"eodata/raw/{rel}").read_bytes() == body
    assert [f.name for f in datasets.ls("eodata/raw")] == ["2020", "a.tif", "empty.bin"]
    assert [f.is_dir for f in datasets.ls("eodata/raw/2020")] == [True, False]
    with rasterio.open(datasets.local_path("eodata/raw/2020/01/b.tif")) as src:
        assert (src.width, src.crs.to_epsg()) == (40, 32633)
    assert staging_is_empty(project)
    hits = project.workspace.search("notes", scope="datasets").hits
    assert "ExtremeEarth/eodata/raw/2020/notes.txt" in [h.ref for h in hits]
    folders = project.workspace.search("2020", scope="datasets").hits
    assert "ExtremeEarth/eodata/raw/2020/01" in [h.ref for h in folders]


def test_ingest_s3_again_skips_what_is_there(
    s3: Any, bucket: str, datasets: DatasetApi, project: eolab.Project
) -> None:
    _put(s3, bucket, {"p/a.bin": b"a" * 100, "p/sub/b.bin": b"b" * 50})
    first = ingest_s3(project, bucket, "p/", "eodata", progress=False)
    files = ["eodata/a.bin", "eodata/sub/b.bin"]
    before = [datasets.ls(path)[0].modified for path in files]
    _put(s3, bucket, {"p/sub/c.bin": b"c" * 10})  # a new object since the first run

    again = ingest_s3(project, bucket, "p/", "eodata", progress=True)

    assert (first.copied, first.skipped) == (2, 0)
    assert (again.copied, again.skipped) == (1, 2)
    assert "2 skipped" in repr(again)
    assert [f.path for f in again] == ["eodata/a.bin", "eodata/sub/b.bin", "eodata/sub/c.bin"]
    assert [datasets.ls(path)[0].modified for path in files] == before
    assert datasets.local_path("eodata/sub/c.bin").read_bytes() == b"c" * 10


def test_ingest_s3_prefix_without_slash_keeps_the_last_segment(
    s3: Any, bucket: str, datasets: DatasetApi, project: eolab.Project
) -> None:
    _put(s3, bucket, {"raw/S1A_1.tif": b"1", "raw/S1A_2/x.tif": b"2", "raw/S2B.tif": b"3"})
    result = ingest_s3(project, bucket, "raw/S1A", "eodata", "in", progress=False)
    assert [f.path for f in result] == ["eodata/in/S1A_1.tif", "eodata/in/S1A_2/x.tif"]
    whole = ingest_s3(project, bucket, "", "eodata", "all", progress=False)
    assert len(whole) == 3 and datasets.exists("eodata/all/raw/S2B.tif")


def test_ingest_s3_large_objects_go_in_ranged_chunks(
    s3_env: str, home: Path, workspace: eolab.Workspace, bucket: str
) -> None:
    small_chunks = eolab.Workspace.open(home, user="alice", upload_chunk_bytes=64 * 1024)
    project = small_chunks.create_project("ChunkedIngest")
    datasets = project.get_dataset_api()
    datasets.create("eodata")
    body = np.random.default_rng(5).bytes(200 * 1024 + 17)  # 4 chunks, the last one short
    s3_client().put_object(Bucket=bucket, Key="big/scene.bin", Body=body)

    result = ingest_s3(project, bucket, "big/", "eodata", progress=False)

    assert [f.size for f in result] == [len(body)]
    assert datasets.local_path("eodata/scene.bin").read_bytes() == body
    assert staging_is_empty(project)


def test_ingest_s3_interrupted_large_object_resumes_missing_chunks(
    s3_env: str,
    home: Path,
    workspace: eolab.Workspace,
    bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    small_chunks = eolab.Workspace.open(home, user="alice", upload_chunk_bytes=64 * 1024)
    project = small_chunks.create_project("ResumedIngest")
    datasets = project.get_dataset_api()
    datasets.create("eodata")
    body = np.random.default_rng(6).bytes(256 * 1024)  # 4 chunks
    s3_client().put_object(Bucket=bucket, Key="big/scene.bin", Body=body)
    opened: list[int] = []
    crash_at: list[int] = [2]
    open_chunk = DatasetApi.open_chunk

    def recording_open_chunk(self: DatasetApi, upload_id: str, index: int) -> Any:
        opened.append(index)
        if index in crash_at:
            raise KeyboardInterrupt  # the process dies mid-object
        return open_chunk(self, upload_id, index)

    monkeypatch.setattr(DatasetApi, "open_chunk", recording_open_chunk)
    with pytest.raises(KeyboardInterrupt):
        ingest_s3(project, bucket, "big/", "eodata", progress=False)
    assert datasets.ls("eodata") == []  # no partial file visible
    assert not staging_is_empty(project)  # chunks 0 and 1 kept for the next run

    opened.clear()
    crash_at.clear()
    ingest_s3(project, bucket, "big/", "eodata", progress=False)
    assert opened == [2, 3]
    assert datasets.local_path("eodata/scene.bin").read_bytes() == body
    assert staging_is_empty(project)


def test_ingest_s3_endpoint_url_argument_wins(
    s3_env: str,
    bucket: str,
    monkeypatch: pytest.MonkeyPatch,
    home: Path,
    workspace: eolab.Workspace,
) -> None:
    monkeypatch.setenv("EOLAB_S3_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")  # nobody
    workspace = eolab.Workspace.open(home, user="alice")  # its settings point at nobody
    project = workspace.create_project("Override")
    project.get_dataset_api().create("eodata")
    s3_client(workspace.settings.with_overrides(s3_endpoint_url=s3_env)).put_object(
        Bucket=bucket, Key="k/x.bin", Body=b"x"
    )
    result = ingest_s3(project, bucket, "k/", "eodata", endpoint_url=s3_env, progress=False)
    assert [f.path for f in result] == ["eodata/x.bin"]


# ---- S3: bad input, nothing written --------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ({"bucket": "no-such-bucket-x"}, NotFound, "no S3 bucket"),
        ({"prefix": "nothing/here/"}, NotFound, "no objects under"),
        ({"bucket": "b"}, InvalidInput, "bucket name"),
        ({"dataset": "nodata"}, NotFound, "no dataset 'nodata'"),
        ({"dest_folder": "../outside"}, InvalidPath, "climbs out"),
        ({"dest_folder": "/abs"}, InvalidPath, "absolute"),
    ],
)
def test_ingest_s3_bad_input_writes_nothing(
    s3: Any,
    bucket: str,
    datasets: DatasetApi,
    project: eolab.Project,
    args: dict[str, str],
    error: type[Exception],
    match: str,
) -> None:
    _put(s3, bucket, {"data/a.bin": b"a"})
    datasets.mkdir("eodata/keep")
    before = snapshot(project)
    call = {"bucket": bucket, "prefix": "data/", "dataset": "eodata", "dest_folder": "x"} | args
    with pytest.raises(error, match=match):
        ingest_s3(project, progress=False, **call)
    assert snapshot(project) == before
    assert staging_is_empty(project)


def test_ingest_s3_unreachable_endpoint_is_a_clear_error(
    s3_env: str, datasets: DatasetApi, project: eolab.Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # no retries with back-off
    before = snapshot(project)
    nobody = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(ConfigurationError, match=f"cannot reach the S3 endpoint {nobody}"):
        ingest_s3(project, "some-bucket", "p/", "eodata", endpoint_url=nobody, progress=False)
    assert snapshot(project) == before


def test_ingest_s3_refuses_clashes_before_writing_anything(
    s3: Any, bucket: str, datasets: DatasetApi, project: eolab.Project, tmp_path: Path
) -> None:
    _put(s3, bucket, {"p/a.bin": b"new", "p/b.bin": b"bbbb", "p/f/c.bin": b"c"})
    (tmp_path / "b.bin").write_bytes(b"older, longer")
    datasets.upload(tmp_path / "b.bin", "eodata", progress=False)
    before = snapshot(project)
    with pytest.raises(Conflict, match="'eodata/b.bin' already exists with 13 bytes"):
        ingest_s3(project, bucket, "p/", "eodata", progress=False)
    assert snapshot(project) == before

    datasets.remove("eodata/b.bin")
    (tmp_path / "f").write_bytes(b"a file where a folder goes")
    datasets.upload(tmp_path / "f", "eodata", progress=False)
    before = snapshot(project)
    with pytest.raises(Conflict, match="'eodata/f' is a file"):
        ingest_s3(project, bucket, "p/", "eodata", progress=False)
    assert snapshot(project) == before and staging_is_empty(project)


def test_ingest_s3_refuses_keys_that_climb_out(
    s3: Any, bucket: str, datasets: DatasetApi, project: eolab.Project
) -> None:
    _put(s3, bucket, {"p/ok.bin": b"1", "p/../../etc/x": b"2"})
    before = snapshot(project)
    with pytest.raises(InvalidPath, match="S3 key 'p/../../etc/x'"):
        ingest_s3(project, bucket, "p/", "eodata", progress=False)
    assert snapshot(project) == before


# ---- STAC: static catalogs -----------------------------------------------------------------


def test_ingest_stac_static_catalog_downloads_and_tags(
    catalog: dict[str, Any], datasets: DatasetApi, project: eolab.Project
) -> None:
    result = ingest_stac(project, str(catalog["path"]), progress=False)

    landed = {f.path.removeprefix("eodata/stac/"): f for f in result}
    # s1 items: only their GeoTIFF; s2 has none, so all of its assets
    assert sorted(landed) == [
        "S1A_20200105/vv.tif",
        "S1B_20200210/vv.tif",
        "S2A_20200107/info.txt",
        "S2A_20200107/preview.png",
    ]
    for rel in landed:
        assert datasets.local_path(f"eodata/stac/{rel}").read_bytes() == catalog["blobs"][rel]
    with rasterio.open(datasets.local_path("eodata/stac/S1B_20200210/vv.tif")) as src:
        assert src.crs.to_epsg() == 32633
    assert _tags(datasets, "eodata/stac/S1A_20200105/vv.tif") == {
        "id": "S1A_20200105",
        "collection": "s1",
        "datetime": "2020-01-05T06:00:00Z",
        "bbox": [10.0, 60.0, 11.0, 61.0],
        "properties": {"platform": "s1a", "datetime": "2020-01-05T06:00:00Z"},
    }
    assert _tags(datasets, "eodata/stac/S2A_20200107/info.txt")["collection"] == "s2"
    assert STAC_TAG_SCHEMA in [s.name for s in project.workspace.list_tag_schemas()]
    hits = project.workspace.search("s1b", scope="datasets").hits  # the platform, in the tag
    assert "ExtremeEarth/eodata/stac/S1B_20200210/vv.tif" in [h.ref for h in hits]
    assert staging_is_empty(project)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"collection": "s1"}, {"S1A_20200105", "S1B_20200210"}),
        ({"bbox": [9.0, 59.0, 10.2, 60.2]}, {"S1A_20200105"}),
        ({"bbox": [10.8, 60.8, 10.9, 60.9]}, {"S1A_20200105", "S2A_20200107"}),
        ({"bbox": [0, 0, 1, 1]}, set()),
        ({"datetime": "2020-01-01/2020-01-31"}, {"S1A_20200105", "S2A_20200107"}),
        ({"datetime": "2020-02-01T00:00:00Z/.."}, {"S1B_20200210"}),
        ({"datetime": "../2020-01-06"}, {"S1A_20200105"}),
        ({"datetime": "2020-01-07"}, {"S2A_20200107"}),
        ({"datetime": "2020-01"}, {"S1A_20200105", "S2A_20200107"}),
        ({"collection": "s1", "datetime": "2020-01-01/2020-01-31"}, {"S1A_20200105"}),
        ({"collection": "s1", "bbox": [15, 65, 25, 75], "limit": 5}, {"S1B_20200210"}),
        ({"limit": 1}, {"S1A_20200105"}),
    ],
)
def test_ingest_stac_static_filters_select_items(
    catalog: dict[str, Any],
    datasets: DatasetApi,
    project: eolab.Project,
    filters: dict[str, Any],
    expected: set[str],
) -> None:
    result = ingest_stac(project, str(catalog["path"]), progress=False, **filters)
    assert {f.path.split("/")[2] for f in result} == expected
    if not expected:
        assert not datasets.exists("eodata/stac")


def test_ingest_stac_chosen_assets_file_url_and_folder(
    catalog: dict[str, Any], datasets: DatasetApi, project: eolab.Project
) -> None:
    result = ingest_stac(
        project,
        catalog["path"].as_uri(),
        collection="s1",
        assets=["thumbnail", "vv"],
        dest_folder="s1/january",
        datetime="2020-01-01/2020-01-31",
        progress=False,
    )
    assert [f.path for f in result] == [
        "eodata/s1/january/S1A_20200105/thumb.png",
        "eodata/s1/january/S1A_20200105/vv.tif",
    ]
    again = ingest_stac(project, str(catalog["dir"]), collection="s1", assets="thumbnail")
    assert (again.copied, again.skipped) == (2, 0)
    assert datasets.exists("eodata/stac/S1B_20200210/thumb.png")


def test_ingest_stac_again_skips_and_keeps_tags(
    catalog: dict[str, Any], datasets: DatasetApi, project: eolab.Project
) -> None:
    first = ingest_stac(project, str(catalog["path"]), progress=True)
    before = snapshot(project)
    again = ingest_stac(project, str(catalog["path"]), progress=False)
    assert (first.skipped, again.skipped, again.copied) == (0, 4, 0)
    assert snapshot(project) == before
    assert _tags(datasets, "eodata/stac/S1B_20200210/vv.tif")["id"] == "S1B_20200210"


# ---- STAC: bad input, nothing written ------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "error", "match"),
    [
        ({"collection": "landsat"}, NotFound, r"no collection 'landsat'.*\['s1', 's2'\]"),
        ({"bbox": [1, 2, 3]}, InvalidInput, "bbox is 4 numbers"),
        ({"bbox": "10,60,11,61"}, InvalidInput, "bbox is 4 numbers"),
        ({"bbox": [10, 60, "11", 61]}, InvalidInput, "bbox is 4 numbers"),
        ({"bbox": [10, 60, float("nan"), 61]}, InvalidInput, "bbox is 4 numbers"),
        ({"bbox": [11, 60, 10, 61]}, InvalidInput, "minimum above its maximum"),
        ({"bbox": [10, 61, 11, 60]}, InvalidInput, "minimum above its maximum"),
        ({"datetime": "2020-02-01/2020-01-01"}, InvalidInput, "ends before it starts"),
        ({"datetime": "../.."}, InvalidInput, "open at both ends"),
        ({"datetime": "2020-13-01/.."}, InvalidInput, "RFC 3339"),
        ({"datetime": "yesterday"}, InvalidInput, "RFC 3339"),
        ({"datetime": "2020/2021/2022"}, InvalidInput, "'start/end'"),
        ({"assets": ["vv", "hh"]}, NotFound, r"has no asset 'hh'; it has \['thumbnail', 'vv'\]"),
        ({"assets": []}, InvalidInput, "non-empty list"),
        ({"limit": 0}, InvalidInput, "positive"),
        ({"dataset": "nodata"}, NotFound, "no dataset 'nodata'"),
        ({"dest_folder": "../up"}, InvalidPath, "climbs out"),
    ],
)
def test_ingest_stac_bad_input_writes_nothing(
    catalog: dict[str, Any],
    datasets: DatasetApi,
    project: eolab.Project,
    filters: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    before = snapshot(project)
    with pytest.raises(error, match=match):
        ingest_stac(project, str(catalog["path"]), progress=False, **filters)
    assert snapshot(project) == before
    assert staging_is_empty(project)
    assert STAC_TAG_SCHEMA not in [s.name for s in project.workspace.list_tag_schemas()]


def test_ingest_stac_missing_catalog_or_asset_file(
    catalog: dict[str, Any], datasets: DatasetApi, project: eolab.Project, tmp_path: Path
) -> None:
    before = snapshot(project)
    with pytest.raises(NotFound, match="no STAC catalog"):
        ingest_stac(project, str(tmp_path / "nowhere" / "catalog.json"), progress=False)
    with pytest.raises(NotFound, match="no catalog.json or collection.json"):
        ingest_stac(project, str(tmp_path), progress=False)
    (tmp_path / "item.json").write_text("{not json")
    with pytest.raises(InvalidInput, match="not a readable STAC catalog"):
        ingest_stac(project, str(tmp_path / "item.json"), progress=False)
    (catalog["dir"] / "s1" / "S1B_20200210" / "vv.tif").unlink()
    with pytest.raises(NotFound, match="asset 'vv' of STAC item 'S1B_20200210' is missing"):
        ingest_stac(project, str(catalog["path"]), progress=False)
    assert snapshot(project) == before


def test_ingest_stac_schema_needs_an_admin_the_first_time(
    catalog: dict[str, Any], workspace: eolab.Workspace, datasets: DatasetApi
) -> None:
    workspace.create_user("bob")
    workspace.get_project("ExtremeEarth").add_member("bob", "data_scientist")
    bob = workspace.as_user("bob").get_project("ExtremeEarth")
    before = snapshot(bob)
    with pytest.raises(Forbidden, match="only a workspace admin may create it"):
        ingest_stac(bob, str(catalog["path"]), collection="s2", progress=False)
    assert snapshot(bob) == before

    ingest_stac(workspace.get_project("ExtremeEarth"), str(catalog["path"]), collection="s1")
    result = ingest_stac(bob, str(catalog["path"]), collection="s2", progress=False)
    assert result.copied == 2
    assert _tags(datasets, "eodata/stac/S2A_20200107/preview.png")["id"] == "S2A_20200107"


# ---- STAC: an API, and http(s) / s3 assets -------------------------------------------------


def test_ingest_stac_api_search_with_http_and_s3_assets(
    http_server: dict[str, Any],
    s3: Any,
    bucket: str,
    datasets: DatasetApi,
    project: eolab.Project,
    tmp_path: Path,
) -> None:
    base = http_server["base"]
    vv = write_geotiff(http_server["files"] / "S1A_X_vv.tif", seed=11)
    hh = write_geotiff(tmp_path / "hh.tif", seed=12)
    s3.put_object(Bucket=bucket, Key="s1/S1A_X/hh.tif", Body=hh)
    (http_server["files"] / "meta.xml").write_bytes(b"<manifest/>" * 50)
    http_server["collections"] = {c: _api_collection(base, c) for c in ("sentinel-1", "other")}
    http_server["items"] = [
        _api_item(
            "sentinel-1",
            "S1A_X",
            {
                "vv": {"href": f"{base}/files/S1A_X_vv.tif", "type": pystac.MediaType.COG},
                "hh": {"href": f"s3://{bucket}/s1/S1A_X/hh.tif", "type": pystac.MediaType.GEOTIFF},
                "meta": {"href": f"{base}/nolength/meta.xml", "type": "application/xml"},
            },
        ),
        _api_item("other", "O_1", {"d": {"href": f"{base}/files/meta.xml"}}),
    ]

    result = ingest_stac(
        project,
        base + "/",
        collection="sentinel-1",
        bbox=[9, 59, 12, 62],
        datetime="2020-01-01/2020-01-31",
        limit=10,
        progress=False,
    )

    assert [f.path for f in result] == [
        "eodata/stac/S1A_X/S1A_X_vv.tif",
        "eodata/stac/S1A_X/hh.tif",
    ]
    assert datasets.local_path("eodata/stac/S1A_X/S1A_X_vv.tif").read_bytes() == vv
    assert datasets.local_path("eodata/stac/S1A_X/hh.tif").read_bytes() == hh
    search = http_server["searches"][-1]
    assert (search["method"], search["collections"]) == ("POST", ["sentinel-1"])
    assert [float(v) for v in search["bbox"]] == [9, 59, 12, 62]
    assert search["datetime"] == "2020-01-01T00:00:00Z/2020-01-31T23:59:59.999999Z"
    tag = _tags(datasets, "eodata/stac/S1A_X/hh.tif")
    assert (tag["collection"], tag["properties"]["platform"]) == ("sentinel-1", "sentinel-1a")

    http_server["landing"]["links"].pop()  # now only GET is advertised: search with GET
    meta = ingest_stac(project, base, collection="sentinel-1", assets=["meta"], progress=False)
    assert http_server["searches"][-1]["method"] == "GET"
    assert datasets.local_path(meta[0].path).read_bytes() == b"<manifest/>" * 50
    assert staging_is_empty(project)

    before = snapshot(project)
    with pytest.raises(NotFound, match="no collection 'landsat' in the STAC API"):
        ingest_stac(project, base, collection="landsat", progress=False)
    with pytest.raises(NotFound, match="has no asset 'vh'"):
        ingest_stac(project, base, collection="sentinel-1", assets=["vh"], progress=False)
    http_server["items"][0]["assets"]["hh"]["href"] = f"s3://{bucket}/s1/missing.tif"
    with pytest.raises(NotFound, match="missing.tif"):
        ingest_stac(project, base, collection="sentinel-1", dest_folder="o", progress=False)
    assert snapshot(project) == before


def test_ingest_stac_api_failures_leave_no_trace(
    http_server: dict[str, Any], datasets: DatasetApi, project: eolab.Project, tmp_path: Path
) -> None:
    base = http_server["base"]
    (http_server["files"] / "ok.tif").write_bytes(b"fine")
    http_server["collections"] = {"c": _api_collection(base, "c")}
    http_server["items"] = [
        _api_item("c", "GOOD", {"a": {"href": f"{base}/files/ok.tif"}}),
        _api_item("c", "BAD", {"a": {"href": f"{base}/fail/broken.tif"}}),
    ]
    with pytest.raises(InvalidInput, match="cannot download .*broken.tif.*500"):
        ingest_stac(project, base, progress=False)
    # each file is atomic: GOOD landed, BAD left neither a file nor its new folder behind
    assert [f.name for f in datasets.ls("eodata/stac")] == ["GOOD"]
    assert staging_is_empty(project)

    http_server["landing"]["conformsTo"] = ["https://api.stacspec.org/v1.0.0/core"]
    with pytest.raises(InvalidInput, match="no STAC API with item search"):
        ingest_stac(project, base, progress=False)
    with pytest.raises(InvalidInput, match="cannot reach the STAC API"):
        ingest_stac(project, f"http://127.0.0.1:{_free_port()}/api", progress=False)


def test_ingest_stac_static_catalog_over_http(
    http_server: dict[str, Any],
    catalog: dict[str, Any],
    datasets: DatasetApi,
    project: eolab.Project,
) -> None:
    shutil.copytree(catalog["dir"], http_server["files"] / "cat")
    url = f"{http_server['base']}/files/cat/catalog.json"
    result = ingest_stac(project, url, collection="s1", assets=["vv"], progress=False)
    assert [f.path for f in result] == [
        "eodata/stac/S1A_20200105/vv.tif",
        "eodata/stac/S1B_20200210/vv.tif",
    ]
    assert (
        datasets.local_path(result[1].path).read_bytes() == catalog["blobs"]["S1B_20200210/vv.tif"]
    )
    assert http_server["searches"] == []  # read as a static catalog, never searched
