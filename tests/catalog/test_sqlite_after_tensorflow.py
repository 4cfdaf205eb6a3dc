"""The catalog's full-text search works in a process that imported TensorFlow first.

TensorFlow carries its own SQLite without FTS5; importing eolab binds ``sqlite3`` to the system
SQLite anyway, and where that is too late (sqlite3 already loaded against TensorFlow's) the
catalog refuses to open with the reason instead of failing on the first write.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

OPEN_AND_SEARCH = """
from eolab.workspace import Workspace
ws = Workspace.open({home!r}, user="alice")
ws.create_project("ExtremeEarth", "sea ice chips")
print("hits", ws.search("chips").total)
"""


def _run(prelude: str, home: Path) -> subprocess.CompletedProcess[str]:
    script = textwrap.dedent(prelude) + OPEN_AND_SEARCH.format(home=str(home))
    env = {k: v for k, v in os.environ.items() if not k.startswith("EOLAB_")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=100
    )


def test_tensorflow_imported_before_eolab(tmp_path: Path) -> None:
    result = _run("import tensorflow\nimport eolab\n", tmp_path / "home")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-2:] == ["hits", "1"]


def test_sqlite3_bound_to_tensorflows_build_is_refused_with_the_fix(tmp_path: Path) -> None:
    result = _run("import tensorflow\nimport sqlite3\nimport eolab\n", tmp_path / "home")
    assert result.returncode != 0
    assert "ConfigurationError" in result.stderr
    assert "import eolab (or sqlite3) before tensorflow" in result.stderr
    assert not (tmp_path / "home" / "projects" / "ExtremeEarth").exists()
