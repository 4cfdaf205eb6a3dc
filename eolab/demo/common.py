"""What every demo stage shares: the demo's names and sizes, the run state and the summary."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eolab.errors import Conflict
from eolab.projects import Project
from eolab.workspace import Workspace

PROJECT = "ExtremeEarth"
DATASET = "eodata"
MARKER = ".eolab-demo"
SIZES = ("quick", "default", "full")
LOCATION_POLAR = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "projects": {"type": "array", "items": {"type": "string"}},
        "location": {"type": "string"},
    },
    "required": ["name"],
    "additionalProperties": False,
}
SEED_TAG = {"name": DATASET, "projects": [PROJECT], "location": "Arctic Ocean"}
# Scene edge in pixels, and number of iceberg chips, for each demo size.
SCENE_PIXELS = {"quick": 384, "default": 2048, "full": 8192}
CHIPS = {"quick": 64, "default": 1604, "full": 1604}


@dataclass
class Summary:
    rows: list[tuple[str, str, str, float]] = field(default_factory=list)

    def add(self, stage: str, step: str, result: str, seconds: float) -> None:
        self.rows.append((stage, step, result, seconds))

    def render(self) -> str:
        header = ("stage", "step", "result", "seconds")
        cells = [header] + [(a, b, c, f"{d:.2f}") for a, b, c, d in self.rows]
        widths = [max(len(str(r[i])) for r in cells) for i in range(4)]
        line = "+".join("-" * (w + 2) for w in widths)
        out = [line]
        for i, row in enumerate(cells):
            out.append("|".join(f" {str(v).ljust(w)} " for v, w in zip(row, widths, strict=True)))
            if i == 0:
                out.append(line)
        out.append(line)
        return "\n".join(out)


def fresh_home(home: Path) -> Path:
    """Empty the demo workspace, refusing to touch a folder that is not one."""
    home = home.expanduser().resolve()
    if home.exists() and any(home.iterdir()) and not (home / MARKER).exists():
        raise Conflict(f"{home} is not empty and not an eolab demo workspace; pick another --home")
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    (home / MARKER).write_text("created by eolab demo; deleted by the next demo run\n")
    return home


def described(path: Path, what: str) -> str:
    return f"{what}, {path.stat().st_size / 1e6:.1f} MB"


def timed(summary: Summary, stage: str, step: str, fn: Callable[[], str]) -> Any:
    start = time.perf_counter()
    result = fn()
    summary.add(stage, step, result, time.perf_counter() - start)
    return result


@dataclass
class DemoRun:
    """What the stages share: where they run, how big, and what earlier stages made."""

    ws: Workspace
    project: Project
    size: str
    summary: Summary
    artifacts: dict[str, Any] = field(default_factory=dict)
