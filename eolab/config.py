"""Settings: environment variables over ``$EOLAB_HOME/eolab.toml`` over defaults.

The TOML file holds the same keys as the dataclass fields, e.g.::

    catalog_url = "postgresql+psycopg://eolab@db/eolab"
    engine = "python"
    upload_max_bytes = 10737418240
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from eolab.errors import ConfigurationError

ENGINES = ("python", "spark")

# field name -> environment variable
_ENV = {
    "home": "EOLAB_HOME",
    "catalog_url": "EOLAB_CATALOG_URL",
    "engine": "EOLAB_ENGINE",
    "project": "EOLAB_PROJECT",
    "user": "EOLAB_USER",
    "upload_max_bytes": "EOLAB_UPLOAD_MAX_BYTES",
    "upload_chunk_bytes": "EOLAB_UPLOAD_CHUNK_BYTES",
    "catalog_busy_timeout_s": "EOLAB_CATALOG_BUSY_TIMEOUT_S",
    "catalog_retries": "EOLAB_CATALOG_RETRIES",
    "spark_master": "EOLAB_SPARK_MASTER",
    "workers": "EOLAB_WORKERS",
    "s3_endpoint_url": "EOLAB_S3_ENDPOINT_URL",
    "s3_region": "EOLAB_S3_REGION",
    "serving_health_interval_s": "EOLAB_SERVING_HEALTH_INTERVAL_S",
    "serving_health_timeout_s": "EOLAB_SERVING_HEALTH_TIMEOUT_S",
    "serving_health_failures": "EOLAB_SERVING_HEALTH_FAILURES",
}


@dataclass(frozen=True)
class Settings:
    """Everything eolab reads from its environment, resolved once per workspace."""

    home: Path = field(default_factory=lambda: Path("~/.eolab").expanduser())
    catalog_url: str = ""  # empty: SQLite file catalog.db in home
    engine: str = "python"
    project: str = ""
    user: str = ""  # empty: the Jupyter or OS user
    upload_max_bytes: int = 10 * 1024**3
    upload_chunk_bytes: int = 8 * 1024**2
    catalog_busy_timeout_s: float = 5.0
    catalog_retries: int = 3
    spark_master: str = "local[*]"
    workers: int = 0  # python engine processes; 0: one per core
    s3_endpoint_url: str = ""  # empty: AWS; e.g. http://127.0.0.1:9000 for an S3-compatible store
    s3_region: str = "us-east-1"
    # a running model server instance is probed every interval; one that misses ``failures``
    # probes in a row (hung, not dead) is taken out of the rotation, killed and restarted
    serving_health_interval_s: float = 2.0
    serving_health_timeout_s: float = 5.0
    serving_health_failures: int = 3

    @property
    def resolved_catalog_url(self) -> str:
        return self.catalog_url or f"sqlite:///{self.home / 'catalog.db'}"

    def with_overrides(self, **overrides: Any) -> Settings:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def _coerce(name: str, raw: Any) -> Any:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    try:
        if kind == "Path":
            return Path(str(raw)).expanduser()
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"setting {name!r} expects {kind}, got {raw!r}") from exc


def load_settings(home: str | Path | None = None, **overrides: Any) -> Settings:
    """Resolve settings: explicit arguments, then env vars, then the TOML file, then defaults."""
    env_home = os.environ.get(_ENV["home"])
    home_path = Path(home or env_home or "~/.eolab").expanduser().resolve()
    values: dict[str, Any] = {"home": home_path}
    toml_path = home_path / "eolab.toml"
    if toml_path.is_file():
        try:
            file_values = tomllib.loads(toml_path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{toml_path} is not valid TOML: {exc}") from exc
        unknown = set(file_values) - set(_ENV)
        if unknown:
            raise ConfigurationError(f"{toml_path} has unknown settings {sorted(unknown)}")
        values.update({k: _coerce(k, v) for k, v in file_values.items() if k != "home"})
    for name, var in _ENV.items():
        if name != "home" and os.environ.get(var):
            values[name] = _coerce(name, os.environ[var])
    values.update({k: _coerce(k, v) for k, v in overrides.items() if v is not None})
    settings = Settings(**values)
    if settings.engine not in ENGINES:
        raise ConfigurationError(f"engine must be one of {ENGINES}, got {settings.engine!r}")
    for name in (
        "serving_health_interval_s",
        "serving_health_timeout_s",
        "serving_health_failures",
    ):
        if getattr(settings, name) <= 0:
            raise ConfigurationError(f"setting {name!r} must be > 0, got {getattr(settings, name)}")
    return settings
