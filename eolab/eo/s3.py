"""S3 access for EO data: one boto3 client and one GDAL configuration, both from the settings.

``settings.s3_endpoint_url`` (empty: AWS) and ``settings.s3_region`` say where S3 is;
credentials come from the usual AWS chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
profiles, instance roles), never from eolab's settings.

Rasters are read in place through GDAL's ``/vsis3/`` (ranged GETs, no download). Seen here
(rasterio 1.4.4 wheel with GDAL 3.10.3, moto 5.2 server): ``/vsis3/`` talks to moto_server
directly once it gets ``AWS_S3_ENDPOINT=127.0.0.1:PORT``, ``AWS_HTTPS=NO`` and
``AWS_VIRTUAL_HOSTING=FALSE`` (path-style requests; the bucket is not a DNS name there), so no
download-to-a-temp-file fallback is needed. ``GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR`` spares
the LIST request GDAL would otherwise send to look for sidecar files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from eolab.config import Settings, load_settings
from eolab.errors import (
    ConfigurationError,
    Conflict,
    EolabError,
    Forbidden,
    InvalidInput,
    NotFound,
)

if TYPE_CHECKING:
    from rasterio.io import DatasetReader

# Bucket names: 3-63 characters; lower case, digits, dots and hyphens today, with the upper
# case and underscores of legacy buckets still accepted.
_BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$")


def _settings(settings: Settings | None) -> Settings:
    return settings if settings is not None else load_settings()


def _endpoint(settings: Settings) -> tuple[str, str] | None:
    """(scheme, host[:port]) of a custom endpoint; None for AWS itself."""
    url = settings.s3_endpoint_url.strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"s3_endpoint_url must look like http://host:port or https://host, got {url!r}"
        )
    return parts.scheme, parts.netloc


def s3_client(settings: Settings | None = None) -> Any:
    """A boto3 S3 client for the configured endpoint and region (path-style on custom ones)."""
    settings = _settings(settings)
    endpoint = _endpoint(settings)
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:  # the [s3] extra is optional
        raise ConfigurationError("S3 access needs boto3: pip install 'eolab[s3]'") from exc
    config = Config(
        retries={"mode": "standard"},  # 3 attempts in all; AWS_MAX_ATTEMPTS changes it
        connect_timeout=10,
        read_timeout=60,
        s3={"addressing_style": "path" if endpoint else "auto"},
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.s3_endpoint_url.strip() or None,
        region_name=settings.s3_region or None,
        config=config,
    )


def parse_s3_url(url: str) -> tuple[str, str]:
    """``'s3://bucket/a/b.tif'`` → ``('bucket', 'a/b.tif')``; the key may be empty (a prefix)."""
    if not isinstance(url, str) or not url.startswith("s3://"):
        raise InvalidInput(f"an S3 URL looks like s3://bucket/key, got {url!r}")
    bucket, _, key = url[len("s3://") :].partition("/")
    if not _BUCKET.match(bucket):
        raise InvalidInput(
            f"an S3 URL looks like s3://bucket/key with a bucket name of 3-63 letters, digits, "
            f"'.', '-' or '_'; {url!r} names the bucket {bucket!r}"
        )
    return bucket, key


def gdal_s3_env(settings: Settings | None = None) -> dict[str, str]:
    """GDAL config options with which rasterio opens ``s3://bucket/key`` at the configured S3."""
    settings = _settings(settings)
    options = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR"}
    if settings.s3_region:
        options["AWS_REGION"] = settings.s3_region
    endpoint = _endpoint(settings)
    if endpoint is not None:
        scheme, host = endpoint
        options.update(
            AWS_S3_ENDPOINT=host,
            AWS_HTTPS="YES" if scheme == "https" else "NO",
            AWS_VIRTUAL_HOSTING="FALSE",
        )
    return options


_NOT_FOUND = {"NoSuchBucket", "NoSuchKey", "NotFound", "404"}
_FORBIDDEN = {
    "AccessDenied",
    "403",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AllAccessDisabled",
}


def translate_s3_error(exc: Exception, what: str, settings: Settings | None = None) -> EolabError:
    """The eolab error for a boto3 failure on ``what`` (an s3:// URL), saying where S3 was."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    settings = _settings(settings)
    endpoint = settings.s3_endpoint_url.strip() or f"AWS S3 ({settings.s3_region})"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code, message = str(error.get("Code", "")), error.get("Message", str(exc))
        details = {"s3_code": code, "url": what, "endpoint": endpoint}
        if code == "NoSuchBucket":
            return NotFound(f"no S3 bucket for {what!r} at {endpoint}: {message}", details)
        if code in _NOT_FOUND:
            return NotFound(f"no S3 object {what!r} at {endpoint}: {message}", details)
        if code in _FORBIDDEN:
            return Forbidden(f"S3 at {endpoint} refuses access to {what!r}: {message}", details)
        if code == "PreconditionFailed":
            return Conflict(f"{what!r} changed while it was being read; run again", details)
        return InvalidInput(f"S3 at {endpoint} refused a request on {what!r}: {message}", details)
    if isinstance(exc, NoCredentialsError):
        return ConfigurationError(
            f"no AWS credentials to read {what!r}: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (or an AWS profile)"
        )
    if isinstance(exc, EndpointConnectionError):
        return ConfigurationError(
            f"cannot reach the S3 endpoint {endpoint} for {what!r}; check the s3_endpoint_url "
            f"setting (EOLAB_S3_ENDPOINT_URL) or the endpoint_url given: {exc}",
            details={"url": what, "endpoint": endpoint},
        )
    return ConfigurationError(f"S3 at {endpoint} failed on {what!r}: {exc}")


@contextmanager
def open_s3_raster(url: str, settings: Settings | None = None) -> Iterator[DatasetReader]:
    """Open a raster on S3 in place; the GDAL S3 options stay set while the dataset is used."""
    bucket, key = parse_s3_url(url)
    if not key or key.endswith("/"):
        raise InvalidInput(f"an S3 raster URL names an object, got the prefix {url!r}")
    import rasterio
    from rasterio.errors import RasterioIOError

    with rasterio.Env(**gdal_s3_env(settings)):
        try:
            dataset = rasterio.open(f"s3://{bucket}/{key}")
        except RasterioIOError as exc:
            message = str(exc)
            if "does not exist" in message:
                raise NotFound(f"no S3 object {url!r}: {message}") from exc
            if "not recognized" in message or "supported file format" in message:
                raise InvalidInput(f"{url!r} is not a raster GDAL can read: {message}") from exc
            raise ConfigurationError(f"cannot read {url!r} from S3: {message}") from exc
        with dataset:
            yield dataset


__all__ = ["gdal_s3_env", "open_s3_raster", "parse_s3_url", "s3_client", "translate_s3_error"]
