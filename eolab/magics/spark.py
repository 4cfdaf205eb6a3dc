"""``%%eo spark``: configure the project's Spark engine; the cell body runs with ``spark``.

GPUs map to ``spark.executor.resource.gpu.amount`` (per executor) and one GPU per task,
found by a discovery script (nvidia-smi by default). Without GPUs the session runs on CPU
and says so.
"""

from __future__ import annotations

import sys
from argparse import Namespace
from typing import TYPE_CHECKING

from IPython.core.magic_arguments import argument, magic_arguments

from eolab.magics.registry import subcommand
from eolab.widgets import Properties

if TYPE_CHECKING:
    from eolab.magics.core import EolabMagics


@subcommand("spark", help="configure the Spark engine (master, executors, GPUs); run the cell")
@magic_arguments()
@argument("--master", default=None, help="Spark master URL (default: the settings', local[*])")
@argument("--executors", type=int, default=None, help="number of executors")
@argument("--executor-memory", default=None, help="memory per executor, e.g. 4g")
@argument("--executor-cores", type=int, default=None, help="cores per executor")
@argument("--gpus", type=int, default=0, help="GPUs per executor (each task gets one)")
@argument("--gpu-discovery-script", default=None, help="script printing the executor's GPUs")
@argument("--conf", action="append", default=[], metavar="KEY=VALUE", help="extra Spark config")
def spark(magics: EolabMagics, args: Namespace, cell: str | None) -> Properties | None:
    """Start (or re-configure) the SparkSession and make ``spark`` the current project's engine."""
    from eolab.engine.spark import SparkConfig, get_session, has_gpus, parse_conf

    gpus = args.gpus
    if gpus and not has_gpus() and not args.gpu_discovery_script:
        print(
            f"eolab: no GPU on this machine: ignoring --gpus {gpus}, running on CPU",
            file=sys.stderr,
        )
        gpus = 0
    selected = magics.selected_project()
    master = args.master or (selected.workspace.settings.spark_master if selected else "local[*]")
    config = SparkConfig(
        master=master,
        executors=args.executors,
        executor_memory=args.executor_memory,
        executor_cores=args.executor_cores,
        gpus=gpus,
        gpu_discovery_script=args.gpu_discovery_script,
        conf=parse_conf(args.conf),
    )
    session = get_session(config)
    if selected is not None:
        selected.engine = "spark"
    magics.shell.user_ns["spark"] = session
    if cell and cell.strip():
        magics.shell.run_cell(cell)
        return None
    sc = session.sparkContext
    return Properties(
        [
            ("master", sc.master),
            ("application", sc.applicationId),
            ("default parallelism", sc.defaultParallelism),
            ("GPUs per executor", gpus or "none (CPU)"),
            ("project engine", selected.engine if selected else "(no project selected)"),
        ]
        + [(k, v) for k, v in config.conf],
        title="Spark session",
        data=config,
    )
