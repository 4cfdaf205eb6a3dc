"""Fixtures of the lagom tests: a real IPython shell with ``%load_ext eolab`` for the magic
(one per session, as IPython keeps a single InteractiveShell)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config


@pytest.fixture(scope="session")
def shell() -> InteractiveShell:
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ip = InteractiveShell.instance(config=config)
    ip.run_line_magic("load_ext", "eolab")
    return ip


@pytest.fixture
def eo(shell: InteractiveShell, current) -> Callable[..., Any]:
    """``eo(line, body)`` runs ``%%eo line`` (``%eo line`` without a body) in ExtremeEarth."""

    def run(line: str, cell: str | None = None) -> Any:
        if cell is None:
            return shell.run_line_magic("eo", line)
        return shell.run_cell_magic("eo", line, cell)

    return run
