"""Fixtures of the magics tests, chained on the shared ones: temporary EOLAB_HOME (as alice)
→ workspace → project ExtremeEarth → dataset eodata → a real IPython shell with ``%load_ext
eolab``.

The shell is one per session (IPython keeps a single InteractiveShell instance); the
``workspace`` fixture's teardown clears the current project and the opened catalogs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from eolab.datasets.api import DatasetApi
from eolab.datasets.tags import TagSchemaInfo

Eo = Callable[..., Any]


@pytest.fixture(scope="session")
def shell() -> InteractiveShell:
    """A real IPython shell, history in memory, with the eolab extension loaded."""
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ip = InteractiveShell.instance(config=config)
    ip.run_line_magic("load_ext", "eolab")
    return ip


@pytest.fixture
def as_alice(home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """EOLAB_USER=alice, the identity ``eolab.connect`` (hence ``%eo project``) uses."""
    monkeypatch.setenv("EOLAB_USER", "alice")
    return "alice"


@pytest.fixture
def eo(
    shell: InteractiveShell,
    as_alice: str,
    datasets: DatasetApi,
    polar_schema: TagSchemaInfo,
) -> Eo:
    """``eo(line)`` runs ``%eo line``; ``eo(line, body)`` runs ``%%eo line`` with the body."""

    def run(line: str, cell: str | None = None) -> Any:
        if cell is None:
            return shell.run_line_magic("eo", line)
        return shell.run_cell_magic("eo", line, cell)

    return run


@pytest.fixture
def in_project(eo: Eo) -> Eo:
    """``eo`` after ``%eo project ExtremeEarth``."""
    eo("project ExtremeEarth")
    return eo


@pytest.fixture
def error_line(capsys: pytest.CaptureFixture[str]) -> Callable[[], str]:
    """The one line an expected error printed on stderr (and that there was no traceback)."""

    def read() -> str:
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert len(lines) == 1, f"expected one line on stderr, got {err!r}"
        assert lines[0].startswith("eolab: "), err
        assert "Traceback" not in err
        return lines[0]

    return read
