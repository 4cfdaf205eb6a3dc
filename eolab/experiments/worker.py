"""The trial process: one call of the train function with its params, seed and folder.

Started by an executor (:mod:`eolab.experiments.executors`): a forkserver child on the python
engine, a ``python`` child process of a Spark task (:func:`main`, given TRIAL_DIR). It makes itself
the leader of a new process group, so that a stop kills it and everything it started with one
``killpg``, and a watchdog kills that group when its parent dies, so that a killed driver or
Spark task leaves no orphan.

Files in the trial folder: ``spec.json`` (written by the driver: params, seed, code, env),
``pid``, ``params.json``, ``stdout.log``, ``stderr.log``, ``steps.jsonl``,
``training_datasets.json``, ``metrics.json``, ``artifacts/``, and ``result.json`` last, atomically:
``{"state", "metrics", "artifacts", "error", "traceback", "started_at", "finished_at"}``.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.abc
import importlib.machinery
import json
import os
import pickle
import random
import shutil
import signal
import socket
import sqlite3
import sys
import threading
import time
import traceback
import types
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eolab.errors import InvalidInput
from eolab.experiments import context
from eolab.experiments.states import FAILED, FINISHED

SPEC_FILE = "spec.json"
RESULT_FILE = "result.json"
PID_FILE = "pid"
WORK_DIR = "work"
ARTIFACTS_DIR = "artifacts"
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "GDAL_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
)


class ReturnedValueError(Exception):
    """What the train function returned is not a dict of metrics (recorded as the trial's error)."""


# ---- the train function, shipped by value when it cannot be imported -----------------------


def _cloudpickle() -> Any:
    try:
        import cloudpickle  # type: ignore[import-not-found]

        return cloudpickle
    except ImportError:
        pass
    try:
        from pyspark import cloudpickle  # type: ignore[no-redef]

        return cloudpickle
    except ImportError:
        return None


def _module_importable(name: str) -> bool:
    """A fresh process finds module ``name`` where this one loaded it from."""
    file = getattr(sys.modules.get(name), "__file__", None)
    if name == "__main__" or not file:
        return False
    target = Path(file).resolve()
    parts = name.split(".")
    for entry in sys.path:
        base = Path(entry or os.getcwd())
        module_file = base.joinpath(*parts[:-1], parts[-1] + ".py")
        if target in (module_file.resolve(), base.joinpath(*parts, "__init__.py").resolve()):
            return True
    return False


def importable(fn: Any) -> bool:
    """``fn`` can be pickled by reference: a trial process imports it by module and name."""
    name = getattr(fn, "__module__", None)
    return bool(name) and "<" not in getattr(fn, "__qualname__", "<") and _module_importable(name)


def _code_names(code: Any) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _unimportable_modules(fn: Any) -> list[types.ModuleType]:
    """Modules that ``fn`` and the globals and closure values it uses come from, which a fresh
    process could not import (test modules, files loaded by path): they go by value."""
    found: dict[str, types.ModuleType] = {}
    candidates = [fn]
    code = getattr(fn, "__code__", None)
    if code is not None:
        namespace = getattr(fn, "__globals__", {})
        candidates += [namespace[n] for n in _code_names(code) if n in namespace]
        for cell in getattr(fn, "__closure__", None) or ():
            with contextlib.suppress(ValueError):
                candidates.append(cell.cell_contents)
    for obj in candidates:
        module = obj if isinstance(obj, types.ModuleType) else None
        if module is None:
            module = sys.modules.get(getattr(obj, "__module__", None) or "")
        if module is None or module.__name__ in ("__main__", "builtins"):
            continue
        if getattr(module, "__file__", None) and not _module_importable(module.__name__):
            found[module.__name__] = module
    return list(found.values())


def dump_function(fn: Any) -> bytes:
    """``fn`` pickled: by reference when a trial process can import it, else by value
    (cloudpickle) for functions defined in a notebook, ``__main__``, another function or a
    module that is not on the import path."""
    if importable(fn):
        try:
            return pickle.dumps(fn)
        except (pickle.PicklingError, AttributeError, TypeError):
            pass
    shipper = _cloudpickle()
    if shipper is None:
        raise InvalidInput(
            f"train_fn {getattr(fn, '__qualname__', fn)!r} is defined in "
            f"{getattr(fn, '__module__', None)!r}, which trial processes cannot import; shipping "
            "it needs cloudpickle (pip install cloudpickle, or eolab[spark]), or define it in an "
            "importable module"
        )
    by_value = _unimportable_modules(fn)
    for module in by_value:
        shipper.register_pickle_by_value(module)
    try:
        return shipper.dumps(fn)
    except Exception as exc:  # noqa: BLE001 - any pickling problem is the function's
        raise InvalidInput(
            f"train_fn cannot be sent to trial processes: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        for module in by_value:
            shipper.unregister_pickle_by_value(module)


def load_function(path: Path) -> Any:
    return pickle.loads(path.read_bytes())


# ---- what the train function returned ------------------------------------------------------


def collect(
    value: Any, metric_key: str | None, workdir: Path, artifacts_dir: Path
) -> tuple[dict[str, Any], dict[str, str]]:
    """Split the returned dict into numeric metrics and artifacts (files it names, copied into
    ``artifacts_dir``); raise ReturnedValueError saying what is wrong with it."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ReturnedValueError(
            "train_fn must return a dict of metrics (name -> number, or the path of a file to "
            f"keep as an artifact), got {type(value).__name__} {context._short(value)}"
        )
    metrics: dict[str, Any] = {}
    artifacts: dict[str, str] = {}
    for name, item in value.items():
        if not isinstance(name, str) or not name:
            raise ReturnedValueError(f"metric names must be non-empty strings, got {name!r}")
        if isinstance(item, str | os.PathLike):
            artifacts[name] = _keep_artifact(name, Path(item), workdir, artifacts_dir)
            continue
        try:
            metrics[name] = context.as_number(item)
        except InvalidInput as exc:
            raise ReturnedValueError(
                f"metric {name!r}: {exc.message}; metrics are numbers, and strings must be paths "
                "of files to keep as artifacts"
            ) from None
    if metric_key is not None and metric_key not in metrics:
        where = "an artifact path, not a number" if metric_key in artifacts else "missing"
        raise ReturnedValueError(
            f"metric_key {metric_key!r} is {where} in the returned dict (it has "
            f"{sorted(value)}); return it, or pass the metric_key of one of these"
        )
    return metrics, artifacts


def _keep_artifact(name: str, path: Path, workdir: Path, artifacts_dir: Path) -> str:
    source = path if path.is_absolute() else workdir / path
    if not source.exists():
        raise ReturnedValueError(
            f"metric {name!r} is the string {str(path)!r}, which names no file (looked at "
            f"{source}); metrics are numbers, and strings must be paths of files to keep"
        )
    artifacts_dir.mkdir(exist_ok=True)
    target = artifacts_dir / source.name
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
    else:
        shutil.copy2(source, target)
    return f"{ARTIFACTS_DIR}/{source.name}"


# ---- process set-up --------------------------------------------------------------------------


def _become_group_leader() -> None:
    try:
        if os.getpgid(0) != os.getpid():
            os.setsid()
    except OSError:
        pass  # already a session leader (Popen start_new_session)


def _redirect_output(trial_dir: Path) -> None:
    """Send fds 1 and 2 (Python's and C libraries' output alike) to the trial's log files."""
    for fd, name in ((1, "stdout.log"), (2, "stderr.log")):
        target = os.open(trial_dir / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(target, fd)
        os.close(target)
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115


def _watch_parent(parent: int) -> None:
    """Kill this process group when the parent dies (the group would otherwise be orphaned)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os.killpg(os.getpgid(0), signal.SIGKILL)

    threading.Thread(target=watch, name="eolab-parent-watch", daemon=True).start()


def _limit_blas_threads(threads: int) -> None:
    """OpenBLAS loaded before the limit was set (NumPy, preloaded) reads no variable: tell it."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return
    libraries = {line.split()[-1] for line in maps.splitlines() if "openblas" in line.lower()}
    names = ("openblas_set_num_threads", "scipy_openblas_set_num_threads64_")
    for library in libraries:
        try:
            handle = ctypes.CDLL(library)
        except OSError:
            continue
        for name in names:
            setter = getattr(handle, name, None)
            if setter is not None:
                setter(threads)
                break


class _SeedOnImport(importlib.abc.MetaPathFinder):
    """Seeds TensorFlow / PyTorch when the train function imports them (usually in its body)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in ("tensorflow", "torch"):
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader, seed = spec.loader, self.seed
        original = loader.exec_module  # type: ignore[attr-defined]

        def exec_module(module: Any) -> None:
            original(module)
            _seed_framework(name, module, seed)

        loader.exec_module = exec_module  # type: ignore[attr-defined]
        return spec


def _seed_framework(name: str, module: Any, seed: int) -> None:
    try:
        if name == "tensorflow":
            module.random.set_seed(seed)
        elif name == "torch":
            module.manual_seed(seed)
    except Exception:  # noqa: BLE001, S110 - a framework that cannot be seeded still trains
        pass


def _seed(seed: int) -> None:
    random.seed(seed)
    try:
        import numpy

        numpy.random.seed(seed % 2**32)
    except ImportError:
        pass
    for name in ("tensorflow", "torch"):
        if name in sys.modules:
            _seed_framework(name, sys.modules[name], seed)
    sys.meta_path.insert(0, _SeedOnImport(seed))


def _bind_sqlite() -> None:
    """TensorFlow loads its own SQLite (without FTS5) into the global symbol scope; use
    Python's SQLite once before train_fn can import TensorFlow, so that the catalog's search
    tables keep working in the trial (``models.export``, ``eolab.connect``)."""
    with contextlib.closing(sqlite3.connect(":memory:")) as db:
        db.execute("CREATE VIRTUAL TABLE temp.probe USING fts5(x)")
        db.execute("INSERT INTO temp.probe VALUES ('a')")
        db.execute("SELECT x FROM temp.probe WHERE probe MATCH 'a'").fetchall()


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat()


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=1, default=str))
    tmp.replace(path)


# ---- the trial -------------------------------------------------------------------------------


def run_trial(directory: str, env: dict[str, str] | None = None) -> int:
    """Run the trial in ``directory`` in this process; return the process exit code."""
    trial_dir = Path(directory)
    _become_group_leader()
    _redirect_output(trial_dir)
    spec = json.loads((trial_dir / SPEC_FILE).read_text())
    os.environ.update(env or {})
    os.environ.update(spec.get("env", {}))
    _write_json(trial_dir / PID_FILE, {"pid": os.getpid(), "host": socket.gethostname()})
    _watch_parent(os.getppid())
    threads = spec.get("threads")
    if threads:
        os.environ.update({var: str(threads) for var in THREAD_VARS})
        _limit_blas_threads(int(threads))
    sys.path[:0] = [p for p in spec.get("sys_path", []) if p not in sys.path]
    workdir = trial_dir / WORK_DIR
    workdir.mkdir(exist_ok=True)
    os.chdir(workdir)
    _write_json(trial_dir / "params.json", spec["params"])
    context.enter(
        context.TrialContext(spec["run_id"], spec["trial_id"], trial_dir, int(spec["seed"]))
    )
    result: dict[str, Any] = {"started_at": _now()}
    try:
        _bind_sqlite()
        _seed(int(spec["seed"]))
        train_fn = load_function(Path(spec["code"]))
        value = train_fn(**spec["params"])
        metrics, artifacts = collect(
            value, spec.get("metric_key"), workdir, trial_dir / ARTIFACTS_DIR
        )
        _write_json(trial_dir / "metrics.json", metrics)
        result.update(state=FINISHED, metrics=metrics, artifacts=artifacts)
    except ReturnedValueError as exc:
        print(f"eolab: {exc}", file=sys.stderr)
        result.update(state=FAILED, error=str(exc), traceback="")
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt included
        text = traceback.format_exc()
        print(text, file=sys.stderr)
        result.update(state=FAILED, error=f"{type(exc).__name__}: {exc}", traceback=text)
    finally:
        context.leave()
    result["finished_at"] = _now()
    _write_json(trial_dir / RESULT_FILE, result)
    if workdir.exists() and not any(workdir.iterdir()):
        workdir.rmdir()
    return 0 if result["state"] == FINISHED else 1


def run_trial_process(directory: str, env: dict[str, str] | None = None) -> None:
    """Process target: run the trial, then exit at once (no interpreter teardown to hang on)."""
    code = 1
    try:
        code = run_trial(directory, env)
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: eolab trial worker TRIAL_DIR", file=sys.stderr)
        sys.exit(2)
    run_trial_process(args[0])


if __name__ == "__main__":
    main()
