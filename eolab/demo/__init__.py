"""``eolab demo``: the demonstrator pipeline, stage by stage, in a fresh demo workspace.

Stages arrive with their issues (DESIGN's 'The demonstrator pipeline'), one module each; this
package runs the ones that exist and prints one summary table.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from eolab.demo.common import MARKER, PROJECT, SIZES, DemoRun, Summary, fresh_home
from eolab.demo.featurestore import stage_featurestore
from eolab.demo.ingest import stage_ingest
from eolab.demo.preprocess import stage_preprocess
from eolab.demo.serve import stage_serve
from eolab.demo.training import stage_training
from eolab.demo.tuning import stage_tuning
from eolab.errors import InvalidInput
from eolab.workspace import Workspace

STAGES: list[tuple[str, Callable[[DemoRun], None]]] = [
    ("ingest", stage_ingest),
    ("preprocess", stage_preprocess),
    ("featurestore", stage_featurestore),
    ("training", stage_training),
    ("tuning", stage_tuning),
    ("serve", stage_serve),
]

__all__ = ["MARKER", "STAGES", "Summary", "run_demo"]


def run_demo(
    home: Path,
    size: str = "default",
    echo: Callable[[str], None] = print,
    until: str | None = None,
) -> Summary:
    """Run the stages (every one, or up to and including ``until``) in a fresh workspace at
    ``home`` and print the summary."""
    if size not in SIZES:
        raise InvalidInput(f"demo size must be one of {SIZES}, got {size!r}")
    names = [name for name, _ in STAGES]
    if until is not None and until not in names:
        raise InvalidInput(f"--until must name a stage, one of {names}; got {until!r}")
    stages = STAGES[: names.index(until) + 1] if until else STAGES
    from tqdm.auto import tqdm

    home = fresh_home(home)
    summary = Summary()
    ws = Workspace.open(home)
    project = ws.create_project(PROJECT, "Ship or iceberg, from Sentinel-1 SAR chips")
    run = DemoRun(ws, project, size, summary)
    for _name, stage in tqdm(stages, desc=f"eolab demo ({size})", unit="stage"):
        stage(run)
    echo(summary.render())
    echo(f"workspace: {home}  (open it with: make lab, or eolab lab --home {home})")
    return summary
