"""eolab: the Hopsworks experience for Earth-observation deep learning, inside JupyterLab.

import eolab
project = eolab.connect(project="ExtremeEarth", engine="python", create=True)
datasets = project.get_dataset_api()
"""

from __future__ import annotations

from eolab.catalog import sqlite_module

sqlite_module.load()  # first: binds sqlite3 to the system SQLite even after TensorFlow

from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from eolab import errors  # noqa: E402
from eolab.projects import Project  # noqa: E402
from eolab.workspace import Workspace  # noqa: E402

__version__ = "0.1.0"

_current: Project | None = None


def connect(
    project: str | None = None,
    engine: str | None = None,
    create: bool = False,
    home: str | Path | None = None,
    user: str | None = None,
    api_key: str | None = None,
    description: str = "",
) -> Project:
    """Open the workspace (created on first use) and the project, and make it current.

    ``project`` defaults to ``EOLAB_PROJECT``; ``create=True`` creates it when missing;
    ``engine`` ("python" or "spark") is chosen per connection.
    """
    overrides: dict[str, Any] = {"engine": engine} if engine else {}
    workspace = Workspace.open(home, user=user, api_key=api_key, **overrides)
    name = project or workspace.settings.project
    if not name:
        raise errors.InvalidInput("connect() needs a project name (or EOLAB_PROJECT)")
    try:
        handle = workspace.get_project(name)
    except errors.NotFound:
        if not create:
            raise
        handle = workspace.create_project(name, description)
    handle.engine = workspace.settings.engine
    set_current_project(handle)
    return handle


def set_current_project(project: Project | None) -> None:
    """Bind the facades (experiment, models, serving) to ``project``."""
    global _current
    _current = project


def selected_project() -> Project | None:
    """The project set by connect(), ``%eo project`` or ``EOLAB_PROJECT``; None if none is."""
    if _current is None:
        from eolab.config import load_settings

        if not load_settings().project:
            return None
        return connect()
    return _current


def current_project() -> Project:
    """The current project, or InvalidInput saying how to select one."""
    project = selected_project()
    if project is None:
        raise errors.InvalidInput(
            "no current project: call eolab.connect(project=...), run %eo project NAME, "
            "or set EOLAB_PROJECT"
        )
    return project


def workspace(home: str | Path | None = None, user: str | None = None) -> Workspace:
    """The workspace itself, for what lies above projects (users, tag schemas, search)."""
    return Workspace.open(home, user=user)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext eolab``: register the ``%eo`` / ``%%eo`` magics (imported only now, so that
    ``import eolab`` stays free of IPython)."""
    from eolab.magics import EolabMagics

    ipython.register_magics(EolabMagics)


def __getattr__(name: str) -> Any:
    """``from eolab import experiment``: the experiments facade, imported on first use."""
    if name == "experiment":
        import eolab.experiments

        return eolab.experiments
    raise AttributeError(f"module 'eolab' has no attribute {name!r}")


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from eolab.server.app import EolabApp

    return [{"module": "eolab.server.app", "app": EolabApp}]


__all__ = [
    "Project",
    "Workspace",
    "connect",
    "current_project",
    "errors",
    "load_ipython_extension",
    "selected_project",
    "set_current_project",
    "workspace",
]
