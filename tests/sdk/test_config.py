"""Settings: environment variables over ``$EOLAB_HOME/eolab.toml`` over defaults."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import eolab
from eolab import errors
from eolab.config import Settings, load_settings
from eolab.workspace import reset_shared_catalogs


@pytest.fixture(autouse=True)
def _dispose_catalogs() -> Iterator[None]:
    """Tests here open workspaces themselves; close their catalogs afterwards."""
    yield
    reset_shared_catalogs()


def write_toml(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "eolab.toml").write_text(text)


def test_defaults_without_file_or_environment(home: Path) -> None:
    settings = load_settings(home)
    assert settings.home == home.resolve()
    assert settings.engine == "python"
    assert settings.upload_max_bytes == Settings().upload_max_bytes == 10 * 1024**3
    assert settings.resolved_catalog_url == f"sqlite:///{home.resolve() / 'catalog.db'}"


def test_home_comes_from_eolab_home_when_not_given(home: Path) -> None:
    assert load_settings().home == home.resolve()


def test_toml_file_values_are_read_and_coerced(home: Path) -> None:
    write_toml(
        home,
        'engine = "spark"\nupload_max_bytes = 2048\ncatalog_busy_timeout_s = 1\nproject = "P1"\n',
    )
    settings = load_settings(home)
    assert settings.engine == "spark"
    assert settings.upload_max_bytes == 2048
    assert settings.catalog_busy_timeout_s == 1.0
    assert isinstance(settings.catalog_busy_timeout_s, float)
    assert settings.project == "P1"


def test_environment_overrides_toml_file(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_toml(home, 'engine = "spark"\nupload_max_bytes = 2048\nuser = "fromfile"\n')
    monkeypatch.setenv("EOLAB_ENGINE", "python")
    monkeypatch.setenv("EOLAB_UPLOAD_MAX_BYTES", "4096")
    settings = load_settings(home)
    assert settings.engine == "python"
    assert settings.upload_max_bytes == 4096
    assert settings.user == "fromfile"  # not overridden: the file's value stands


def test_explicit_overrides_beat_environment(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOLAB_UPLOAD_CHUNK_BYTES", "10")
    settings = load_settings(home, upload_chunk_bytes=20, engine=None)
    assert settings.upload_chunk_bytes == 20
    assert settings.engine == "python"  # None means "not given"


def test_eolab_user_names_the_default_identity(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOLAB_USER", "carol")
    ws = eolab.Workspace.open(home)
    assert ws.caller.name == "carol"
    assert ws.caller.is_admin  # first user of this home


def test_jupyterhub_user_is_the_default_identity(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTERHUB_USER", "dave")
    assert eolab.Workspace.open(home).caller.name == "dave"


def test_invalid_toml_raises_configuration_error(home: Path) -> None:
    write_toml(home, 'engine = "python\n')
    with pytest.raises(errors.ConfigurationError, match="not valid TOML"):
        eolab.Workspace.open(home, user="alice")
    assert not (home / "catalog.db").exists()


def test_unknown_toml_key_raises_configuration_error(home: Path) -> None:
    write_toml(home, 'engine = "python"\nengin = "spark"\n')
    with pytest.raises(errors.ConfigurationError, match="engin"):
        eolab.Workspace.open(home, user="alice")
    assert not (home / "catalog.db").exists()


@pytest.mark.parametrize("source", ["toml", "env", "argument"])
def test_unknown_engine_raises_configuration_error(
    home: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    if source == "toml":
        write_toml(home, 'engine = "dask"\n')
        overrides = {}
    elif source == "env":
        monkeypatch.setenv("EOLAB_ENGINE", "dask")
        overrides = {}
    else:
        overrides = {"engine": "dask"}
    with pytest.raises(errors.ConfigurationError, match="dask"):
        eolab.Workspace.open(home, user="alice", **overrides)
    assert not (home / "catalog.db").exists()


def test_value_of_wrong_type_raises_configuration_error(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EOLAB_CATALOG_RETRIES", "many")
    with pytest.raises(errors.ConfigurationError, match="catalog_retries"):
        load_settings(home)
    write_toml(home, 'upload_max_bytes = "lots"\n')
    monkeypatch.delenv("EOLAB_CATALOG_RETRIES")
    with pytest.raises(errors.ConfigurationError, match="upload_max_bytes"):
        load_settings(home)


def test_catalog_url_with_unknown_driver_raises_configuration_error(home: Path) -> None:
    with pytest.raises(errors.ConfigurationError, match="cannot open catalog"):
        eolab.Workspace.open(home, user="alice", catalog_url="nosuchdb://nowhere/x")


def test_catalog_url_that_cannot_be_opened_raises_configuration_error(
    home: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'catalog.db'}"
    with pytest.raises(errors.ConfigurationError):
        eolab.Workspace.open(home, user="alice", catalog_url=url)


@pytest.mark.parametrize(
    "name, variable",
    [
        ("serving_health_interval_s", "EOLAB_SERVING_HEALTH_INTERVAL_S"),
        ("serving_health_timeout_s", "EOLAB_SERVING_HEALTH_TIMEOUT_S"),
        ("serving_health_failures", "EOLAB_SERVING_HEALTH_FAILURES"),
    ],
)
def test_serving_health_settings_come_from_the_environment_and_must_be_positive(
    home: Path, monkeypatch: pytest.MonkeyPatch, name: str, variable: str
) -> None:
    assert getattr(load_settings(home), name) == getattr(Settings(), name) > 0
    monkeypatch.setenv(variable, "7")
    assert getattr(load_settings(home), name) == 7
    monkeypatch.setenv(variable, "0")
    with pytest.raises(errors.ConfigurationError, match=f"setting '{name}' must be > 0"):
        load_settings(home)
