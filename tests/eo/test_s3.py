"""S3 access against a real moto_server on 127.0.0.1: the boto3 client, URL parsing, GDAL's
/vsis3/ options, and rasters read in place."""

from __future__ import annotations

import uuid
from pathlib import Path

import boto3
import numpy as np
import pytest
import rasterio
from affine import Affine

from eolab.config import Settings, load_settings
from eolab.eo.s3 import gdal_s3_env, open_s3_raster, parse_s3_url, s3_client
from eolab.errors import ConfigurationError, InvalidInput, NotFound

TRANSFORM = Affine(10, 0, 500000, 0, -10, 7000000)


@pytest.fixture
def s3_settings(s3_env: str) -> Settings:
    """Settings pointing at moto (tests/eo/conftest.py sets the environment)."""
    return load_settings()


@pytest.fixture
def bucket(s3_settings: Settings) -> str:
    name = f"eolab-{uuid.uuid4().hex[:12]}"
    s3_client(s3_settings).create_bucket(Bucket=name)
    return name


def write_geotiff(path: Path, seed: int = 0) -> np.ndarray:
    data = np.random.default_rng(seed).integers(0, 255, (2, 32, 48), dtype="uint8")
    profile = {
        "driver": "GTiff",
        "width": 48,
        "height": 32,
        "count": 2,
        "dtype": "uint8",
        "crs": "EPSG:32633",
        "transform": TRANSFORM,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return data


# ---- client ---------------------------------------------------------------------------------


def test_s3_client_talks_to_the_configured_endpoint(s3_settings: Settings, bucket: str) -> None:
    client = s3_client(s3_settings)
    assert client.meta.endpoint_url == s3_settings.s3_endpoint_url
    assert client.meta.region_name == "us-east-1"
    client.put_object(Bucket=bucket, Key="a/b.txt", Body=b"hello")
    assert client.get_object(Bucket=bucket, Key="a/b.txt")["Body"].read() == b"hello"


def test_s3_client_without_endpoint_is_aws(home: Path) -> None:
    client = s3_client(Settings(home=home, s3_region="eu-north-1"))  # builds, sends nothing
    assert client.meta.region_name == "eu-north-1"
    assert "amazonaws.com" in client.meta.endpoint_url


def test_s3_client_refuses_an_endpoint_without_scheme(home: Path) -> None:
    with pytest.raises(ConfigurationError, match="http://host:port"):
        s3_client(Settings(home=home, s3_endpoint_url="127.0.0.1:9000"))


# ---- URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("s3://bucket/key.tif", ("bucket", "key.tif")),
        ("s3://my.bucket-1/a/b/c.tif", ("my.bucket-1", "a/b/c.tif")),
        ("s3://bucket/", ("bucket", "")),
        ("s3://bucket", ("bucket", "")),
    ],
)
def test_parse_s3_url(url: str, expected: tuple[str, str]) -> None:
    assert parse_s3_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://bucket/key",
        "bucket/key",
        "s3://",
        "s3:///key",
        "s3://ab/key",
        "s3://bu/ck/",
        None,
        3,
    ],
)
def test_parse_s3_url_refuses_malformed_urls(url: object) -> None:
    with pytest.raises(InvalidInput, match="s3://bucket"):
        parse_s3_url(url)  # type: ignore[arg-type]


# ---- GDAL options ---------------------------------------------------------------------------


def test_gdal_s3_env_for_a_custom_http_endpoint(home: Path) -> None:
    settings = Settings(home=home, s3_endpoint_url="http://127.0.0.1:9000", s3_region="eu-west-1")
    assert gdal_s3_env(settings) == {
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
        "AWS_REGION": "eu-west-1",
        "AWS_S3_ENDPOINT": "127.0.0.1:9000",
        "AWS_HTTPS": "NO",
        "AWS_VIRTUAL_HOSTING": "FALSE",
    }


def test_gdal_s3_env_for_https_and_for_aws(home: Path) -> None:
    minio = gdal_s3_env(Settings(home=home, s3_endpoint_url="https://minio.example.org"))
    assert (minio["AWS_S3_ENDPOINT"], minio["AWS_HTTPS"]) == ("minio.example.org", "YES")
    aws = gdal_s3_env(Settings(home=home))
    assert aws["AWS_REGION"] == "us-east-1"
    assert not {"AWS_S3_ENDPOINT", "AWS_HTTPS", "AWS_VIRTUAL_HOSTING"} & set(aws)


# ---- rasters in place -----------------------------------------------------------------------


def test_open_s3_raster_reads_a_geotiff_from_moto(
    s3_settings: Settings, bucket: str, tmp_path: Path
) -> None:
    data = write_geotiff(tmp_path / "scene.tif", seed=7)
    s3_client(s3_settings).upload_file(str(tmp_path / "scene.tif"), bucket, "s1/scene.tif")
    with open_s3_raster(f"s3://{bucket}/s1/scene.tif", s3_settings) as src:
        assert (src.count, src.height, src.width) == (2, 32, 48)
        assert src.crs.to_epsg() == 32633
        assert src.transform == TRANSFORM
        np.testing.assert_array_equal(src.read(), data)
        np.testing.assert_array_equal(src.read(2, window=((4, 8), (10, 20))), data[1, 4:8, 10:20])


def test_open_s3_raster_uses_settings_from_the_environment(
    s3_settings: Settings, bucket: str, tmp_path: Path
) -> None:
    data = write_geotiff(tmp_path / "scene.tif", seed=3)
    s3_client().upload_file(str(tmp_path / "scene.tif"), bucket, "scene.tif")
    with open_s3_raster(f"s3://{bucket}/scene.tif") as src:
        np.testing.assert_array_equal(src.read(1), data[0])


def test_open_s3_raster_takes_credentials_from_an_aws_profile(
    s3_settings: Settings, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = write_geotiff(tmp_path / "scene.tif", seed=5)
    s3_client(s3_settings).upload_file(str(tmp_path / "scene.tif"), bucket, "p/scene.tif")
    credentials = tmp_path / "credentials"
    credentials.write_text("[eo]\naws_access_key_id = profilekey\naws_secret_access_key = x\n")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_PROFILE", "eo")
    assert boto3.session.Session().get_credentials().access_key == "profilekey"
    with open_s3_raster(f"s3://{bucket}/p/scene.tif", s3_settings) as src:
        np.testing.assert_array_equal(src.read(1), data[0])


def test_open_s3_raster_errors(s3_settings: Settings, bucket: str) -> None:
    s3_client(s3_settings).put_object(Bucket=bucket, Key="notes.txt", Body=b"not a raster")
    cases = [
        (f"s3://{bucket}/missing.tif", NotFound, "no S3 object .*missing.tif"),
        ("s3://no-such-bucket-here/x.tif", NotFound, "bucket does not exist"),
        (f"s3://{bucket}/notes.txt", InvalidInput, "not a raster GDAL can read"),
        (f"s3://{bucket}/folder/", InvalidInput, "names an object, got the prefix"),
    ]
    for url, error, match in cases:
        with pytest.raises(error, match=match), open_s3_raster(url, s3_settings):
            pass
