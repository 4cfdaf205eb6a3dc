"""Process checks for the no-orphan tests."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psutil


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie waiting to be reaped."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_for_pids(folder: Path, count: int, timeout: float = 60.0) -> list[int]:
    """The trial and child pids that ``exp_fns.sleeper`` trials wrote, once all have."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = sorted(folder.glob("pids_*.json"))
        if len(files) == count:
            return [pid for f in files for pid in json.loads(f.read_text()).values()]
        time.sleep(0.1)
    raise AssertionError(f"only {len(list(folder.glob('pids_*.json')))} of {count} trials started")


def wait_gone(pids: list[int], timeout: float = 10.0) -> list[int]:
    """The pids still alive after ``timeout`` (empty when every one is gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if alive(p)]
