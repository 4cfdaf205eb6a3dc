"""Datasets and their files: create/list/delete, ls, mkdir, upload, download, move, copy,
remove, preview, and paths that must never leave the project."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import rasterio
from rasterio.transform import Affine

import eolab
from eolab import errors
from eolab.datasets.api import DatasetApi


def names(api: DatasetApi, path: str) -> list[str]:
    return [f.name for f in api.ls(path)]


def put(api: DatasetApi, tmp_path: Path, dest: str, name: str, data: bytes | str) -> Path:
    """Upload ``data`` as file ``name`` into the folder ``dest``; return the file on disk."""
    local = tmp_path / "local" / name
    local.parent.mkdir(exist_ok=True)
    if isinstance(data, str):
        local.write_text(data)
    else:
        local.write_bytes(data)
    info = api.upload(local, dest, progress=False)
    return api.root / info.path


def tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


# ---- datasets ------------------------------------------------------------------------------


def test_create_list_get_and_delete_a_dataset(datasets: DatasetApi, tmp_path: Path) -> None:
    info = datasets.create("sentinel-2.L2A", "Sentinel-2 scenes", searchable=False)
    assert (info.name, info.description, info.searchable, info.created_by) == (
        "sentinel-2.L2A",
        "Sentinel-2 scenes",
        False,
        "alice",
    )
    assert [d.name for d in datasets.list()] == ["eodata", "sentinel-2.L2A"]
    assert datasets.get("sentinel-2.L2A").description == "Sentinel-2 scenes"
    assert (datasets.root / "sentinel-2.L2A").is_dir()

    put(datasets, tmp_path, "sentinel-2.L2A", "a.txt", "x")
    datasets.delete("sentinel-2.L2A")
    assert [d.name for d in datasets.list()] == ["eodata"]
    assert not (datasets.root / "sentinel-2.L2A").exists()
    assert tree(datasets.project.root / ".staging" / "trash") == []
    with pytest.raises(errors.NotFound):
        datasets.get("sentinel-2.L2A")


@pytest.mark.parametrize("name", ["", ".", "..", "../up", "a/b", "a\\b", ".hidden", "x" * 129])
def test_invalid_dataset_name_raises_invalid_name(datasets: DatasetApi, name: str) -> None:
    before = tree(datasets.project.root)
    with pytest.raises(errors.InvalidName):
        datasets.create(name)
    assert [d.name for d in datasets.list()] == ["eodata"]
    assert tree(datasets.project.root) == before


def test_duplicate_dataset_raises_conflict(datasets: DatasetApi, tmp_path: Path) -> None:
    put(datasets, tmp_path, "eodata", "keep.txt", "kept")
    with pytest.raises(errors.Conflict):
        datasets.create("eodata", "again")
    assert [(d.name, d.description) for d in datasets.list()] == [("eodata", "")]
    assert (datasets.root / "eodata" / "keep.txt").read_text() == "kept"


def test_unknown_dataset_raises_not_found(datasets: DatasetApi, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    for call in (
        lambda: datasets.ls("nope"),
        lambda: datasets.ls("nope/sub"),
        lambda: datasets.mkdir("nope/sub"),
        lambda: datasets.delete("nope"),
        lambda: datasets.upload(tmp_path / "f.txt", "nope", progress=False),
        lambda: datasets.preview("nope/f.txt"),
    ):
        with pytest.raises(errors.NotFound):
            call()
    assert sorted(p.name for p in datasets.root.iterdir()) == ["eodata"]


# ---- ls, mkdir, upload, download -----------------------------------------------------------


def test_ls_mkdir_and_upload(datasets: DatasetApi, tmp_path: Path) -> None:
    assert datasets.ls("eodata") == []
    made = datasets.mkdir("eodata/raw/2020")
    assert (made.path, made.is_dir) == ("eodata/raw/2020", True)
    put(datasets, tmp_path, "eodata/raw", "scene.txt", "12345")

    listing = {f.name: (f.path, f.is_dir, f.size) for f in datasets.ls("eodata/raw")}
    assert listing == {
        "2020": ("eodata/raw/2020", True, 0),
        "scene.txt": ("eodata/raw/scene.txt", False, 5),
    }
    assert [f.path for f in datasets.ls("eodata/raw/scene.txt")] == ["eodata/raw/scene.txt"]
    assert datasets.exists("eodata/raw/scene.txt")
    assert not datasets.exists("eodata/raw/other.txt")


def test_mkdir_existing_raises_conflict(datasets: DatasetApi, tmp_path: Path) -> None:
    put(datasets, tmp_path, "eodata", "scene.txt", "data")
    datasets.mkdir("eodata/raw")
    with pytest.raises(errors.Conflict):
        datasets.mkdir("eodata/raw")
    with pytest.raises(errors.Conflict):
        datasets.mkdir("eodata/scene.txt")
    assert (datasets.root / "eodata" / "scene.txt").read_text() == "data"
    assert names(datasets, "eodata") == ["raw", "scene.txt"]


def test_ls_missing_folder_raises_not_found(datasets: DatasetApi) -> None:
    with pytest.raises(errors.NotFound):
        datasets.ls("eodata/missing")


def test_upload_to_a_file_path_and_download_back(datasets: DatasetApi, tmp_path: Path) -> None:
    payload = os.urandom(3000)
    (tmp_path / "in.bin").write_bytes(payload)
    info = datasets.upload(tmp_path / "in.bin", "eodata/renamed.bin", progress=False)
    assert (info.path, info.size) == ("eodata/renamed.bin", 3000)

    out = tmp_path / "out"
    out.mkdir()
    landed = datasets.download("eodata/renamed.bin", out)
    assert landed == out / "renamed.bin"
    assert landed.read_bytes() == payload
    assert datasets.local_path("eodata/renamed.bin").read_bytes() == payload
    assert sorted(p.name for p in out.iterdir()) == ["renamed.bin"]  # no part file left


def test_upload_of_a_missing_local_file_raises_invalid_input(
    datasets: DatasetApi, tmp_path: Path
) -> None:
    with pytest.raises(errors.InvalidInput):
        datasets.upload(tmp_path / "absent.txt", "eodata", progress=False)
    with pytest.raises(errors.InvalidInput):
        datasets.upload(tmp_path, "eodata", progress=False)  # a folder
    assert datasets.ls("eodata") == []


def test_upload_into_a_missing_folder_raises_not_found(
    datasets: DatasetApi, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("a")
    with pytest.raises(errors.NotFound):
        datasets.upload(tmp_path / "a.txt", "eodata/no/such/a.txt", progress=False)
    assert tree(datasets.root) == ["eodata"]


def test_download_onto_an_existing_file_raises_conflict(
    datasets: DatasetApi, tmp_path: Path
) -> None:
    put(datasets, tmp_path, "eodata", "scene.txt", "new")
    dest = tmp_path / "scene.txt"
    dest.write_text("mine")
    with pytest.raises(errors.Conflict):
        datasets.download("eodata/scene.txt", dest)
    assert dest.read_text() == "mine"
    datasets.download("eodata/scene.txt", dest, overwrite=True)
    assert dest.read_text() == "new"


def test_download_of_a_folder_or_missing_file_raises_not_found(
    datasets: DatasetApi, tmp_path: Path
) -> None:
    datasets.mkdir("eodata/raw")
    for path in ("eodata/raw", "eodata/missing.txt"):
        with pytest.raises(errors.NotFound):
            datasets.download(path, tmp_path / "dl")
    assert not (tmp_path / "dl").exists()


# ---- move, copy, remove --------------------------------------------------------------------


def test_move_into_a_folder_and_to_a_new_name(datasets: DatasetApi, tmp_path: Path) -> None:
    put(datasets, tmp_path, "eodata", "a.txt", "A")
    datasets.mkdir("eodata/raw")
    moved = datasets.move("eodata/a.txt", "eodata/raw")
    assert moved.path == "eodata/raw/a.txt"
    renamed = datasets.move("eodata/raw/a.txt", "eodata/b.txt")
    assert renamed.path == "eodata/b.txt"
    assert tree(datasets.root / "eodata") == ["b.txt", "raw"]
    assert (datasets.root / "eodata" / "b.txt").read_text() == "A"


def test_move_across_datasets(datasets: DatasetApi, tmp_path: Path) -> None:
    datasets.create("other")
    put(datasets, tmp_path, "eodata", "a.txt", "A")
    datasets.move("eodata/a.txt", "other")
    assert names(datasets, "eodata") == []
    assert (datasets.root / "other" / "a.txt").read_text() == "A"


def test_copy_file_and_folder(datasets: DatasetApi, tmp_path: Path) -> None:
    put(datasets, tmp_path, "eodata/", "a.txt", "A")
    datasets.mkdir("eodata/raw/deep")
    put(datasets, tmp_path, "eodata/raw/deep", "b.txt", "B")
    datasets.copy("eodata/a.txt", "eodata/a2.txt")
    copied = datasets.copy("eodata/raw", "eodata/raw2")
    assert (copied.path, copied.is_dir) == ("eodata/raw2", True)
    root = datasets.root / "eodata"
    assert (root / "a.txt").read_text() == (root / "a2.txt").read_text() == "A"
    assert (root / "raw2" / "deep" / "b.txt").read_text() == "B"
    assert (root / "raw" / "deep" / "b.txt").read_text() == "B"
    assert not [p for p in root.iterdir() if p.name.startswith(".eolab-copy")]


def test_move_or_copy_onto_an_existing_file_raises_conflict(
    datasets: DatasetApi, tmp_path: Path
) -> None:
    put(datasets, tmp_path, "eodata", "a.txt", "A")
    put(datasets, tmp_path, "eodata", "b.txt", "B")
    for transfer in (datasets.move, datasets.copy):
        with pytest.raises(errors.Conflict):
            transfer("eodata/a.txt", "eodata/b.txt")
    root = datasets.root / "eodata"
    assert (root / "a.txt").read_text() == "A"
    assert (root / "b.txt").read_text() == "B"
    datasets.copy("eodata/a.txt", "eodata/b.txt", overwrite=True)
    assert (root / "b.txt").read_text() == "A"


def test_move_into_itself_or_a_whole_dataset_raises_invalid_path(
    datasets: DatasetApi, tmp_path: Path
) -> None:
    datasets.create("other")
    datasets.mkdir("eodata/raw/sub")
    put(datasets, tmp_path, "eodata/raw", "a.txt", "A")
    before = tree(datasets.root)
    with pytest.raises(errors.InvalidPath):
        datasets.move("eodata/raw", "eodata/raw/sub")
    with pytest.raises(errors.InvalidPath):
        datasets.copy("eodata/raw", "eodata/raw/sub/inner")
    with pytest.raises(errors.InvalidPath):
        datasets.move("eodata", "other")
    assert tree(datasets.root) == before


def test_move_of_missing_source_or_into_missing_folder_raises_not_found(
    datasets: DatasetApi, tmp_path: Path
) -> None:
    put(datasets, tmp_path, "eodata", "a.txt", "A")
    with pytest.raises(errors.NotFound):
        datasets.move("eodata/missing.txt", "eodata/b.txt")
    with pytest.raises(errors.NotFound):
        datasets.move("eodata/a.txt", "eodata/no/such/b.txt")
    assert tree(datasets.root / "eodata") == ["a.txt"]


def test_remove_file_and_folder(datasets: DatasetApi, tmp_path: Path) -> None:
    put(datasets, tmp_path, "eodata", "a.txt", "A")
    datasets.mkdir("eodata/raw/deep")
    put(datasets, tmp_path, "eodata/raw/deep", "b.txt", "B")
    datasets.remove("eodata/a.txt")
    datasets.remove("eodata/raw")
    assert datasets.ls("eodata") == []
    assert tree(datasets.project.root / ".staging" / "trash") == []


def test_remove_of_a_dataset_root_or_missing_file_is_refused(
    datasets: DatasetApi, tmp_path: Path
) -> None:
    put(datasets, tmp_path, "eodata", "a.txt", "A")
    with pytest.raises(errors.InvalidPath):
        datasets.remove("eodata")
    with pytest.raises(errors.NotFound):
        datasets.remove("eodata/missing.txt")
    assert names(datasets, "eodata") == ["a.txt"]


# ---- preview -------------------------------------------------------------------------------


def test_preview_text_head(datasets: DatasetApi, tmp_path: Path) -> None:
    put(datasets, tmp_path, "eodata", "notes.txt", "".join(f"line {i}\n" for i in range(50)))
    result = datasets.preview("eodata/notes.txt", lines=3)
    assert result["path"] == "eodata/notes.txt"
    assert result["kind"] == "text"
    assert result["lines"] == ["line 0", "line 1", "line 2"]
    assert result["size"] == (datasets.root / "eodata" / "notes.txt").stat().st_size


def test_preview_csv_and_json(datasets: DatasetApi, tmp_path: Path) -> None:
    put(datasets, tmp_path, "eodata", "labels.csv", "id,is_iceberg\r\n1,0\r\n2,1\r\n3,1\r\n")
    csv = datasets.preview("eodata/labels.csv", lines=2)
    assert (csv["kind"], csv["lines"]) == ("text", ["id,is_iceberg", "1,0"])

    doc = {"name": "eodata", "bands": [1, 2]}
    put(datasets, tmp_path, "eodata", "meta.json", json.dumps(doc, indent=2))
    preview = datasets.preview("eodata/meta.json", lines=2)
    assert preview["kind"] == "text"
    assert preview["lines"] == ["{", '  "name": "eodata",']


def test_preview_of_unknown_text_suffix_and_binary(datasets: DatasetApi, tmp_path: Path) -> None:
    put(datasets, tmp_path, "eodata", "README", "hello\nworld\n")
    assert datasets.preview("eodata/README")["lines"] == ["hello", "world"]
    put(datasets, tmp_path, "eodata", "blob.dat", b"\x00\x01\x02\xff" * 10)
    assert datasets.preview("eodata/blob.dat") == {
        "path": "eodata/blob.dat",
        "kind": "binary",
        "size": 40,
    }


def test_preview_parquet_schema_and_rows(datasets: DatasetApi, tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "is_iceberg": pa.array([0, 1, 1], pa.int8()),
            "band_1": pa.array([[float(i) for i in range(10)]] * 3, pa.list_(pa.float32())),
        }
    )
    local = tmp_path / "chips.parquet"
    pq.write_table(table, local)
    datasets.upload(local, "eodata", progress=False)

    result = datasets.preview("eodata/chips.parquet", lines=2)
    assert result["kind"] == "parquet"
    assert result["num_rows"] == 3
    assert result["schema"] == [
        {"name": "id", "type": "int64"},
        {"name": "is_iceberg", "type": "int8"},
        {"name": "band_1", "type": "list<element: float>"},
    ]
    assert [r["id"] for r in result["rows"]] == [1, 2]
    assert result["rows"][1]["is_iceberg"] == 1
    band = result["rows"][0]["band_1"]
    assert band[:8] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    assert band[8] == "… 10 values"


def test_preview_geotiff_bands_size_crs_and_dtypes(datasets: DatasetApi, tmp_path: Path) -> None:
    local = tmp_path / "scene.tif"
    data = np.arange(2 * 8 * 16, dtype="float32").reshape(2, 8, 16)
    with rasterio.open(
        local,
        "w",
        driver="GTiff",
        width=16,
        height=8,
        count=2,
        dtype="float32",
        crs="EPSG:3413",
        transform=Affine(40, 0, -1_000_000, 0, -40, 500_000),
    ) as dst:
        dst.write(data)
    datasets.upload(local, "eodata", progress=False)

    result = datasets.preview("eodata/scene.tif")
    assert result["kind"] == "raster"
    assert result["driver"] == "GTiff"
    assert (result["bands"], result["width"], result["height"]) == (2, 16, 8)
    assert result["crs"] == "EPSG:3413"
    assert result["dtypes"] == ["float32", "float32"]
    assert result["bounds"] == [-1_000_000, 500_000 - 8 * 40, -1_000_000 + 16 * 40, 500_000]


def test_preview_of_corrupt_parquet_or_raster_raises_invalid_input(
    datasets: DatasetApi, tmp_path: Path
) -> None:
    put(datasets, tmp_path, "eodata", "bad.parquet", b"not parquet at all")
    put(datasets, tmp_path, "eodata", "bad.tif", b"not a tiff")
    with pytest.raises(errors.InvalidInput):
        datasets.preview("eodata/bad.parquet")
    with pytest.raises(errors.InvalidInput):
        datasets.preview("eodata/bad.tif")
    assert names(datasets, "eodata") == ["bad.parquet", "bad.tif"]


def test_preview_bad_arguments(datasets: DatasetApi, tmp_path: Path) -> None:
    put(datasets, tmp_path, "eodata", "a.txt", "A")
    datasets.mkdir("eodata/raw")
    with pytest.raises(errors.InvalidInput):
        datasets.preview("eodata/a.txt", lines=0)
    with pytest.raises(errors.InvalidInput):
        datasets.preview("eodata/a.txt", lines=1001)
    with pytest.raises(errors.InvalidInput):
        datasets.preview("eodata/raw")
    with pytest.raises(errors.NotFound):
        datasets.preview("eodata/missing.txt")


# ---- paths that leave the project ----------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "eodata/../../x",
        "eodata/../other",
        "/etc/passwd",
        "eodata/a\\b",
        "eodata/nul\x00byte",
        "C:/windows",
        "",
    ],
)
def test_path_traversal_raises_invalid_path(
    workspace: eolab.Workspace, datasets: DatasetApi, tmp_path: Path, path: str
) -> None:
    (tmp_path / "f.txt").write_text("x")
    before = tree(tmp_path)
    calls = [
        lambda: datasets.ls(path),
        lambda: datasets.mkdir(path),
        lambda: datasets.preview(path),
        lambda: datasets.remove(path),
        lambda: datasets.upload(tmp_path / "f.txt", path, progress=False),
        lambda: datasets.copy("eodata", path),
        lambda: datasets.move(path, "eodata"),
    ]
    for call in calls:
        with pytest.raises(errors.InvalidPath):
            call()
    assert tree(tmp_path) == before
    assert datasets.ls("eodata") == []


def test_symlink_out_of_the_project_raises_invalid_path(
    datasets: DatasetApi, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOPSECRET")
    os.symlink(outside, datasets.root / "eodata" / "escape")
    os.symlink(outside / "secret.txt", datasets.root / "eodata" / "secret-link")
    os.symlink(outside / "not-yet.txt", datasets.root / "eodata" / "dangling")
    put(datasets, tmp_path, "eodata", "mine.txt", "mine")
    (tmp_path / "f.txt").write_text("x")

    calls = [
        lambda: datasets.ls("eodata/escape"),
        lambda: datasets.mkdir("eodata/escape/new"),
        lambda: datasets.preview("eodata/escape/secret.txt"),
        lambda: datasets.preview("eodata/secret-link"),
        lambda: datasets.download("eodata/secret-link", tmp_path / "stolen.txt"),
        lambda: datasets.upload(tmp_path / "f.txt", "eodata/escape", progress=False),
        lambda: datasets.upload(tmp_path / "f.txt", "eodata/dangling", progress=False),
        lambda: datasets.copy("eodata/secret-link", "eodata/copied.txt"),
        lambda: datasets.move("eodata/mine.txt", "eodata/escape/mine.txt"),
        lambda: datasets.remove("eodata/escape/secret.txt"),
    ]
    for call in calls:
        with pytest.raises(errors.InvalidPath):
            call()
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "TOPSECRET"
    assert not (tmp_path / "stolen.txt").exists()
    assert (datasets.root / "eodata" / "mine.txt").read_text() == "mine"
    assert not (datasets.root / "eodata" / "copied.txt").exists()


def test_copying_a_folder_never_brings_in_files_from_outside(
    datasets: DatasetApi, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"TOPSECRET")
    datasets.mkdir("eodata/dir")
    os.symlink(outside / "secret.txt", datasets.root / "eodata" / "dir" / "link")
    with contextlib.suppress(errors.InvalidPath):  # refusing the copy is a fine fix too
        datasets.copy("eodata/dir", "eodata/dir2")
    copied = [
        p
        for p in (datasets.root / "eodata").rglob("*")
        if p.is_file() and not p.is_symlink() and p.read_bytes() == b"TOPSECRET"
    ]
    assert copied == []


def test_dataset_folder_replaced_by_a_symlink_raises_invalid_path(
    datasets: DatasetApi, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOPSECRET")
    datasets.create("linked")
    (datasets.root / "linked").rmdir()
    os.symlink(outside, datasets.root / "linked")
    with pytest.raises(errors.InvalidPath):
        datasets.ls("linked")


def test_mkdir_indexes_every_folder_it_creates(workspace, datasets):
    datasets.mkdir("eodata/raw/2026/january")
    hits = {h.ref for h in workspace.search("raw").hits}
    assert "ExtremeEarth/eodata/raw" in hits
    assert "ExtremeEarth/eodata/raw/2026/january" in {
        h.ref for h in workspace.search("january").hits
    }


def test_stat_tells_files_from_folders(datasets, tmp_path):
    datasets.mkdir("eodata/raw")
    local = tmp_path / "a.txt"
    local.write_text("abc")
    datasets.upload(local, "eodata/raw", progress=False)
    assert datasets.stat("eodata/raw").is_dir
    info = datasets.stat("eodata/raw/a.txt")
    assert not info.is_dir and info.size == 3
    with pytest.raises(eolab.errors.NotFound):
        datasets.stat("eodata/raw/missing.txt")


def test_upload_stream_leaves_no_staging_when_the_target_appears(datasets, tmp_path):
    import io

    datasets.upload_stream(io.BytesIO(b"first"), "eodata/x.bin", 5)
    with pytest.raises(eolab.errors.Conflict):
        datasets.upload_stream(io.BytesIO(b"second"), "eodata/x.bin", 6)
    staging = datasets.project.root / ".staging" / "uploads"
    assert not staging.exists() or list(staging.iterdir()) == []
    assert datasets.local_path("eodata/x.bin").read_bytes() == b"first"
