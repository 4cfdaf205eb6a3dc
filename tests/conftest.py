"""Shared fixtures, chained: temporary EOLAB_HOME → workspace (catalog) → project → datasets.

Each test gets its own home and catalog; the ``workspace`` teardown disposes every catalog
engine opened during the test so that no SQLite connection outlives its temporary folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import eolab
from eolab.datasets.api import DatasetApi
from eolab.datasets.tags import TagSchemaInfo
from eolab.workspace import reset_shared_catalogs

# The tag schema of the ExtremeEarth demonstrator.
POLAR_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "projects": {"type": "array", "items": {"type": "string"}},
        "location": {"type": "string"},
    },
    "required": ["name"],
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty EOLAB_HOME; every other eolab (and JupyterHub) variable is cleared."""
    for var in [v for v in os.environ if v.startswith("EOLAB_")] + ["JUPYTERHUB_USER"]:
        monkeypatch.delenv(var, raising=False)
    path = tmp_path / "home"
    monkeypatch.setenv("EOLAB_HOME", str(path))
    return path


@pytest.fixture
def workspace(home: Path) -> Iterator[eolab.Workspace]:
    """The workspace in ``home``, as ``alice`` (its first user, hence admin)."""
    ws = eolab.Workspace.open(home, user="alice")
    yield ws
    eolab.set_current_project(None)
    reset_shared_catalogs()


@pytest.fixture
def project(workspace: eolab.Workspace) -> eolab.Project:
    """Project ``ExtremeEarth``, owned by alice."""
    return workspace.create_project("ExtremeEarth")


@pytest.fixture
def datasets(project: eolab.Project) -> DatasetApi:
    """The dataset API of ``ExtremeEarth``, with an empty dataset ``eodata``."""
    api = project.get_dataset_api()
    api.create("eodata")
    return api


@pytest.fixture
def polar_schema(workspace: eolab.Workspace) -> TagSchemaInfo:
    """Tag schema ``location_polar``: name (required), projects, location."""
    return workspace.create_tag_schema("location_polar", POLAR_SCHEMA)


@pytest.fixture
def polar_value() -> dict[str, Any]:
    """The demonstrator's tag value for dataset ``eodata`` (a fresh copy per test)."""
    return {"name": "eodata", "projects": ["ExtremeEarth"], "location": "Arctic Ocean"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API keeps an event loop running in the main
    thread until the session ends, which later tests' own event loops cannot share."""
    in_ui = ["tests/ui/" in item.nodeid.replace("\\", "/") for item in items]
    items[:] = [i for i, ui in zip(items, in_ui, strict=True) if not ui] + [
        i for i, ui in zip(items, in_ui, strict=True) if ui
    ]


# ---- engines: one process pool and one SparkSession for the whole test session -------------


@pytest.fixture(scope="session")
def python_engine():
    from eolab.engine import PythonEngine

    engine = PythonEngine(workers=2)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def spark_engine():
    from eolab.engine import SparkConfig, SparkEngine, stop_session

    engine = SparkEngine(SparkConfig(master="local[2]"))
    yield engine
    stop_session()
