"""Raster operations on real GeoTIFFs written by rasterio."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
import rasterio
from affine import Affine
from rasterio.windows import Window

from eolab.eo import raster
from eolab.eo.preprocess import preprocess
from eolab.errors import InvalidInput, NotFound

PIXEL = 40.0
ORIGIN = (-300_000.0, -1_900_000.0)


def write_scene(path, width=300, height=200, crs="EPSG:3413", seed=0, dtype="float32"):
    rng = np.random.default_rng(seed)
    data = rng.gamma(4.0, 0.25, size=(2, height, width)).astype(dtype)
    data[0, 10, 10] = 0.0  # a zero intensity pixel: nodata after calibration
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": 2,
        "dtype": dtype,
        "transform": Affine(PIXEL, 0, ORIGIN[0], 0, -PIXEL, ORIGIN[1]),
    }
    if crs:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        dst.descriptions = ("HH", "HV")
    return path, data


@pytest.fixture
def scene(tmp_path):
    return write_scene(tmp_path / "scene.tif")


def test_read_bands_and_windows(scene):
    path, data = scene
    assert np.array_equal(raster.read(path), data)
    window = raster.read(path, bands=2, window=(5, 7, 20, 10))
    assert window.shape == (1, 10, 20)
    assert np.array_equal(window[0], data[1, 7:17, 5:25])


def test_band_and_window_outside_are_refused(scene):
    path, _ = scene
    with pytest.raises(InvalidInput, match="band must be 1..2"):
        raster.read(path, bands=3)
    with pytest.raises(InvalidInput, match="outside the 300x200 scene"):
        raster.read(path, window=(290, 0, 20, 20))


def test_not_a_raster_and_corrupted_file_are_refused(tmp_path, scene):
    text = tmp_path / "notes.tif"
    text.write_text("not a raster")
    with pytest.raises(InvalidInput, match="not a readable raster"):
        raster.read(text)
    broken = tmp_path / "broken.tif"
    broken.write_bytes(scene[0].read_bytes()[:2000])
    with pytest.raises(InvalidInput):
        raster.read(broken)


def test_to_db_never_gives_minus_infinity():
    out = raster.to_db(np.array([100.0, 1.0, 0.0, -3.0, np.nan]))
    assert out[0] == pytest.approx(20.0) and out[1] == 0.0
    assert np.isnan(out[2:]).all()
    assert not np.isinf(out).any()
    assert raster.to_db(np.array([0.0]), nodata=-99.0)[0] == -99.0


def test_calibrate_writes_db_block_by_block(scene, tmp_path):
    path, data = scene
    out = raster.calibrate(path, tmp_path / "db.tif")
    with rasterio.open(out) as ds:
        db = ds.read()
        assert ds.descriptions == ("HH", "HV") and ds.crs.to_epsg() == 3413
    assert np.isnan(db[0, 10, 10])
    assert db[1, 50, 60] == pytest.approx(10 * np.log10(data[1, 50, 60]), rel=1e-5)


def test_undersample_by_factor_and_by_resolution(scene, tmp_path):
    path, data = scene
    out = raster.undersample(path, tmp_path / "u2.tif", factor=2)
    with rasterio.open(out) as ds:
        assert (ds.width, ds.height) == (150, 100)
        assert ds.transform.a == pytest.approx(2 * PIXEL)
        assert ds.bounds.left == pytest.approx(ORIGIN[0]) and ds.bounds.top == pytest.approx(
            ORIGIN[1]
        )
        first = ds.read(1)[0, 0]
    assert first == pytest.approx(data[0, :2, :2].mean(), rel=1e-5)  # average of 2x2
    out = raster.undersample(path, tmp_path / "u120.tif", target_resolution=120.0, method="nearest")
    with rasterio.open(out) as ds:
        assert (ds.width, ds.height) == (100, 67)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"factor": 2, "target_resolution": 80}, {"factor": 0.5}, {"factor": 2, "method": "fancy"}],
)
def test_undersample_bad_input_writes_nothing(scene, tmp_path, kwargs):
    path, _ = scene
    with pytest.raises(InvalidInput):
        raster.undersample(path, tmp_path / "out.tif", **kwargs)
    assert not (tmp_path / "out.tif").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["scene.tif"]


def test_reproject_to_geographic(scene, tmp_path):
    path, _ = scene
    out = raster.reproject(path, tmp_path / "ll.tif", "EPSG:4326")
    with rasterio.open(out) as ds:
        assert ds.crs.to_epsg() == 4326
        assert 50 < ds.bounds.bottom < 90  # polar stereographic north → high latitudes
    with pytest.raises(InvalidInput, match="unknown CRS"):
        raster.reproject(path, tmp_path / "x.tif", "EPSG:999999")
    assert not (tmp_path / "x.tif").exists()


def test_tile_gives_chips_with_bounds_and_crs(scene):
    path, data = scene
    chips = list(raster.tile(path, size=75))
    assert len(chips) == 4 * 2  # 300/75 by floor(200/75); the 50-pixel edge row is dropped
    first = chips[0]
    assert first.data.shape == (2, 75, 75) and first.crs == "EPSG:3413"
    assert np.array_equal(first.data, data[:, :75, :75])
    assert first.bounds == pytest.approx(
        (ORIGIN[0], ORIGIN[1] - 75 * PIXEL, ORIGIN[0] + 75 * PIXEL, ORIGIN[1])
    )
    assert len({c.id for c in chips}) == len(chips)
    assert [c.id for c in raster.tile(path, size=75)] == [c.id for c in chips]  # stable ids


def test_tile_stride_pad_and_bands(scene):
    path, _ = scene
    assert len(list(raster.tile(path, size=75, stride=50))) == 5 * 3
    padded = list(raster.tile(path, size=75, pad=True))
    assert len(padded) == 4 * 3
    edge = padded[-1]
    assert edge.data.shape == (2, 75, 75)
    assert np.isnan(edge.data[:, 60:, :]).all() and not np.isnan(edge.data[:, :50, :]).any()
    assert list(raster.tile(path, size=75, bands=[2]))[0].data.shape == (1, 75, 75)


def test_tile_refuses_a_scene_without_crs(tmp_path):
    path, _ = write_scene(tmp_path / "nocrs.tif", crs=None)
    with pytest.raises(InvalidInput, match="no CRS"):
        list(raster.tile(path))


def test_chip_row_has_float_bands_and_bounds(scene):
    chip = next(raster.tile(scene[0], size=75))
    row = chip.to_row(["band_1", "band_2"])
    assert set(row) == {"id", "band_1", "band_2", "left", "bottom", "right", "top", "crs"}
    assert len(row["band_1"]) == 75 * 75 and isinstance(row["band_1"][0], float)


@pytest.fixture(params=["python", "spark"])
def engine(request):
    return request.getfixturevalue(f"{request.param}_engine")


def test_parallel_tiling_matches_sequential_on_both_engines(scene, engine):
    path, _ = scene
    sequential = [c.to_row() for c in raster.tile(path, size=75)]
    parallel = raster.tile_parallel(path, engine, size=75, progress=False)
    assert [r["id"] for r in parallel] == [r["id"] for r in sequential]
    assert parallel[3]["band_2"] == sequential[3]["band_2"]


def test_parallel_tiling_to_files(scene, python_engine, tmp_path):
    path, data = scene
    rows = raster.tile_parallel(
        path, python_engine, size=75, out_dir=tmp_path / "chips", progress=False
    )
    assert len(rows) == 8
    saved = np.load(tmp_path / "chips" / f"{rows[0]['id']}.npy")
    assert np.array_equal(saved, data[:, :75, :75])


def test_write_geotiff_is_atomic(tmp_path):
    target = tmp_path / "out.tif"
    transform = Affine(0.1, 0, 10, 0, -0.1, 60)
    with pytest.raises(InvalidInput, match="unknown CRS"):
        raster.write_geotiff(target, np.zeros((2, 10, 10), "float32"), transform, "EPSG:nope")
    with pytest.raises(InvalidInput, match="bands, rows, cols"):
        raster.write_geotiff(target, np.zeros(10, "float32"), transform, "EPSG:4326")
    assert list(tmp_path.iterdir()) == []
    raster.write_geotiff(target, np.ones((10, 10), "float32"), transform, "EPSG:4326")
    assert raster.read(target).shape == (1, 10, 10)


def test_quicklook_is_a_small_png(scene):
    png = raster.quicklook_png(scene[0], band=2, max_size=64)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    from io import BytesIO

    from PIL import Image

    assert Image.open(BytesIO(png)).size == (64, 42)


def test_preprocess_a_dataset_scene(datasets, scene, python_engine):
    datasets.upload(scene[0], "eodata", progress=False)
    result = preprocess(
        datasets.project,
        "eodata/scene.tif",
        undersample=2,
        calibrate=True,
        tile=25,
        engine=python_engine,
        progress=False,
    )
    assert result.outputs == {
        "undersample": "eodata/scene_u2.tif",
        "calibrate": "eodata/scene_db.tif",
        "tile": "eodata/scene_chips25.parquet",
    }
    assert result.chips == 6 * 4
    table = pq.read_table(datasets.local_path("eodata/scene_chips25.parquet"))
    assert table.num_rows == 24 and len(table.column("band_1")[0]) == 625
    assert "scene_chips25.parquet" in {f.name for f in datasets.ls("eodata")}


def test_preprocess_bad_input_writes_nothing(datasets, scene):
    datasets.upload(scene[0], "eodata", progress=False)
    before = {f.name for f in datasets.ls("eodata")}
    with pytest.raises(InvalidInput, match="at least one step"):
        preprocess(datasets.project, "eodata/scene.tif")
    with pytest.raises(NotFound):
        preprocess(datasets.project, "eodata/missing.tif", calibrate=True)
    with pytest.raises(InvalidInput):
        preprocess(datasets.project, "eodata/scene.tif", undersample=0.5)
    assert {f.name for f in datasets.ls("eodata")} == before


def test_window_object_and_tuple_agree(scene):
    path, _ = scene
    assert np.array_equal(
        raster.read(path, 1, Window(3, 4, 5, 6)), raster.read(path, 1, (3, 4, 5, 6))
    )
