"""What a train function sees while it runs as a trial, and the calls that record into it.

The trial process (:mod:`eolab.experiments.worker`) enters a :class:`TrialContext` before it calls
the train function. ``log_metric`` and ``log_training_dataset`` append to files in the trial
folder, so they work in any process and on any engine with no catalog access; the driver reads
those files. Outside a trial they warn (:class:`NotTracked`) and record nothing, so that a train
function can still be called directly, e.g. to debug it.
"""

from __future__ import annotations

import json
import math
import numbers
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from eolab.errors import InvalidInput

STEPS_FILE = "steps.jsonl"
DATASETS_FILE = "training_datasets.json"


class NotTracked(UserWarning):
    """A tracking call outside an experiment trial: nothing was recorded."""


@dataclass
class TrialContext:
    """The trial a process runs: its ids, folder and seed."""

    run_id: str
    trial_id: str
    directory: Path
    seed: int
    _steps: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _out: TextIO | None = None

    def write_step(self, name: str, value: float | None, step: int | None) -> None:
        with self._lock:
            if step is None:
                step = self._steps.get(name, -1) + 1
            self._steps[name] = max(step, self._steps.get(name, -1))
            if self._out is None:
                self._out = (self.directory / STEPS_FILE).open("a", encoding="utf-8")
            line = {"name": name, "value": value, "step": step, "time": time.time()}
            self._out.write(json.dumps(line) + "\n")
            self._out.flush()

    def close(self) -> None:
        with self._lock:
            if self._out is not None:
                self._out.close()
                self._out = None


_current: TrialContext | None = None


def enter(context: TrialContext) -> None:
    global _current
    _current = context


def leave() -> None:
    global _current
    if _current is not None:
        _current.close()
    _current = None


def current() -> TrialContext | None:
    """The trial this process runs, or None outside a trial."""
    return _current


def as_number(value: Any) -> float | int | None:
    """A metric value as a JSON number (None for NaN/inf), or InvalidInput.

    Accepts Python and NumPy numbers and 0-d arrays/tensors (what Keras logs hold)."""
    if isinstance(value, bool) or value is None:
        raise InvalidInput(f"a metric value must be a number, got {value!r}")
    if not isinstance(value, numbers.Real):
        if getattr(value, "shape", None) in ((), []) and hasattr(value, "__float__"):
            value = float(value)
        else:
            raise InvalidInput(
                f"a metric value must be a number, got {type(value).__name__} {_short(value)}"
            )
    if isinstance(value, numbers.Integral):
        return int(value)
    number = float(value)
    return number if math.isfinite(number) else None


def _short(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def check_metric_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 256:
        raise InvalidInput(
            f"a metric name is a non-empty string of at most 256 characters, got {name!r}"
        )
    return name


def log_metric(name: str, value: Any, step: int | None = None) -> None:
    """Record ``value`` of metric ``name`` at ``step`` (default: the metric's next step, from 0).

    Call it inside a train function run by ``experiment.launch`` or a search; the values land in
    the trial's ``steps.jsonl`` and the run's metric curves."""
    check_metric_name(name)
    number = as_number(value)
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
        raise InvalidInput(f"step must be an integer >= 0 or None, got {step!r}")
    trial = current()
    if trial is None:
        warnings.warn(
            f"log_metric({name!r}) outside an experiment trial records nothing; run the train "
            "function with experiment.launch",
            NotTracked,
            stacklevel=2,
        )
        return
    trial.write_step(name, number, step)


def dataset_ref(dataset: Any, version: Any = None, commit_ids: Any = None) -> dict[str, Any]:
    """``{"name", "version", "commit_ids"}`` of a training dataset, given by name and version or
    as a TrainingDataset object (its name, version and, when it has them, provenance commits)."""
    if not isinstance(dataset, str):
        if not (hasattr(dataset, "name") and hasattr(dataset, "version")):
            raise InvalidInput(
                "a training dataset is given as (name, version) or as a TrainingDataset, got "
                f"{type(dataset).__name__}"
            )
        version = dataset.version if version is None else version
        if commit_ids is None:
            commit_ids = _provenance_commits(dataset)
        dataset = dataset.name
    if not dataset.strip():
        raise InvalidInput("a training dataset name must not be empty")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInput(f"training dataset versions are integers from 1, got {version!r}")
    if commit_ids is not None:
        if isinstance(commit_ids, tuple):
            commit_ids = list(commit_ids)
        try:
            json.dumps(commit_ids)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(
                f"commit_ids must be JSON (a dict or list of ids), got {_short(commit_ids)}"
            ) from exc
    return {"name": dataset, "version": version, "commit_ids": commit_ids}


def _provenance_commits(dataset: Any) -> Any:
    provenance = getattr(dataset, "provenance", None)
    if callable(provenance):
        provenance = provenance()
    if isinstance(provenance, dict):
        return provenance.get("commit_ids", provenance)
    return provenance


def log_training_dataset(dataset: Any, version: int | None = None, commit_ids: Any = None) -> None:
    """Record that this trial reads training dataset ``dataset`` at ``version`` (and the feature
    group commits it was built from), so that the run, its models and ``rerun`` know it."""
    ref = dataset_ref(dataset, version, commit_ids)
    trial = current()
    if trial is None:
        warnings.warn(
            f"log_training_dataset({ref['name']!r}) outside an experiment trial records nothing",
            NotTracked,
            stacklevel=2,
        )
        return
    path = trial.directory / DATASETS_FILE
    with trial._lock:
        refs = json.loads(path.read_text()) if path.exists() else []
        refs = [r for r in refs if (r["name"], r["version"]) != (ref["name"], ref["version"])]
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps([*refs, ref], indent=1))
        tmp.replace(path)


def read_datasets(directory: Path) -> list[dict[str, Any]]:
    """The training datasets a trial folder records (empty when none)."""
    path = directory / DATASETS_FILE
    return json.loads(path.read_text()) if path.exists() else []
