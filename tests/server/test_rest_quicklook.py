"""A raster's quick-look PNG over REST (what the Datasets panel shows)."""

from __future__ import annotations

from io import BytesIO

import numpy as np
import rasterio
from affine import Affine
from PIL import Image


async def test_quicklook_png_of_a_raster(api, project, tmp_path):
    path = tmp_path / "scene.tif"
    profile = {
        "driver": "GTiff",
        "width": 512,
        "height": 256,
        "count": 2,
        "dtype": "float32",
        "crs": "EPSG:3413",
        "transform": Affine(40, 0, 0, 0, -40, 0),
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.random.default_rng(0).random((2, 256, 512), dtype="float32"))
    project.get_dataset_api().upload(path, "eodata", progress=False)
    status, body = await api(
        "GET",
        "projects/ExtremeEarth/datasets/eodata/files/scene.tif",
        params={"quicklook": 1, "band": 2},
    )
    assert status == 200
    assert Image.open(BytesIO(body)).size == (256, 128)
    status, body = await api(
        "GET",
        "projects/ExtremeEarth/datasets/eodata/files/scene.tif",
        params={"quicklook": 1, "band": 3},
    )
    assert status == 400 and body["error"]["code"] == "invalid_input"


async def test_quicklook_of_a_text_file_is_refused(api, project, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a raster")
    project.get_dataset_api().upload(text, "eodata", progress=False)
    status, body = await api(
        "GET", "projects/ExtremeEarth/datasets/eodata/files/notes.txt", params={"quicklook": 1}
    )
    assert status == 400 and "not a readable raster" in body["error"]["message"]
