"""What a run is reproduced from: the code it ran and the environment it ran in.

``code/``: ``train_fn.pkl`` (what the trials load), ``train_fn.py`` (its source, for reading),
and a copy of the notebook or script that launched it when that is known.
``environment/``: ``requirements.txt`` (``pip freeze`` format, read from the installed
distributions' metadata: no subprocess) and ``environment.json`` (Python, platform, host,
TensorFlow and Keras versions).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect
import json
import os
import platform
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

CODE_DIR = "code"
ENV_DIR = "environment"
FUNCTION_FILE = "train_fn.pkl"
SOURCE_FILE = "train_fn.py"
MAX_LAUNCHER_BYTES = 50 * 1024**2


def _version(*names: str) -> str | None:
    for name in names:
        module = sys.modules.get(name.replace("-", "_"))
        if module is not None and isinstance(getattr(module, "__version__", None), str):
            return module.__version__
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def requirements() -> list[str]:
    """``name==version`` of every installed distribution, sorted, as ``pip freeze`` lists them."""
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name and name.lower() not in found:
            found[name.lower()] = f"{name}=={dist.version}"
    return [found[k] for k in sorted(found)]


def capture_environment(run_dir: Path) -> dict[str, Any]:
    """Write ``environment/`` and return its summary (stored on the run's catalog row)."""
    folder = run_dir / ENV_DIR
    folder.mkdir(exist_ok=True)
    packages = requirements()
    (folder / "requirements.txt").write_text("\n".join(packages) + "\n")
    summary = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "executable": sys.executable,
        "tensorflow": _version("tensorflow", "tensorflow-cpu"),
        "keras": _version("keras"),
        "tf_keras": _version("tf-keras"),
        "eolab": _version("eolab"),
        "packages": len(packages),
    }
    (folder / "environment.json").write_text(json.dumps(summary, indent=1))
    return summary


def launcher_path() -> Path | None:
    """The notebook or script that is running, when it can be told."""
    main = sys.modules.get("__main__")
    candidates = [
        os.environ.get("JPY_SESSION_NAME"),  # set by jupyter_server for a notebook's kernel
        getattr(main, "__session__", None),  # set by ipykernel in the user namespace
        getattr(main, "__file__", None),
    ]
    for candidate in candidates:
        if isinstance(candidate, str) and candidate:
            path = Path(candidate)
            if path.suffix in (".ipynb", ".py") and path.is_file():
                return path.resolve()
    return None


def function_source(fn: Any) -> str | None:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return None


def capture_code(fn: Any, payload: bytes, run_dir: Path) -> dict[str, Any]:
    """Write ``code/`` and return its summary: function, module, source hash, launcher."""
    folder = run_dir / CODE_DIR
    folder.mkdir(exist_ok=True)
    (folder / FUNCTION_FILE).write_bytes(payload)
    source = function_source(fn)
    (folder / SOURCE_FILE).write_text(source if source is not None else "# source unavailable\n")
    launcher = launcher_path()
    if launcher is not None and launcher.stat().st_size <= MAX_LAUNCHER_BYTES:
        shutil.copy2(launcher, folder / launcher.name)
    return {
        "function": getattr(fn, "__qualname__", repr(fn)),
        "module": getattr(fn, "__module__", None),
        "source_sha256": hashlib.sha256(source.encode()).hexdigest() if source else None,
        "launcher": str(launcher) if launcher else None,
    }
