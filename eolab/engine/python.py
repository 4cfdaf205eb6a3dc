"""The ``python`` engine: a process pool on this machine, sized to its cores."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from typing import Any

from eolab.engine.base import Engine
from eolab.widgets.progress import progress_bar

# Worker processes use one thread each for numeric libraries: parallelism comes from the pool.
_ONE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "GDAL_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
}


_PRELOAD = ["numpy", "pandas", "pyarrow", "rasterio", "eolab.engine.base"]


def _init_worker(pin_threads: bool) -> None:
    if pin_threads:
        os.environ.update(_ONE_THREAD)


class PythonEngine(Engine):
    """Parallel work in ``workers`` processes (forkserver: safe beside threads and Jupyter)."""

    name = "python"

    def __init__(self, workers: int = 0, pin_threads: bool = True) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.pin_threads = pin_threads
        self._pool: ProcessPoolExecutor | None = None

    @property
    def parallelism(self) -> int:
        return self.workers

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            # imported once in the fork server, so each worker starts warm
            context.set_forkserver_preload(_PRELOAD)
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=_init_worker,
                initargs=(self.pin_threads,),
            )
        return self._pool

    def map_partitions(
        self,
        fn: Callable[[list[Any]], Iterable[Any]],
        partitions: Sequence[list[Any]],
        desc: str = "",
        progress: bool = True,
    ) -> list[Any]:
        if not partitions:
            return []
        if self.workers == 1:  # no processes to start: run here, same semantics
            results = []
            with progress_bar(len(partitions), desc, progress) as bar:
                for part in partitions:
                    results.append(list(fn(part)))
                    bar.update(1)
            return [r for part in results for r in part]
        pool = self._executor()
        futures: list[Future[list[Any]]] = [pool.submit(_run, fn, part) for part in partitions]
        with progress_bar(len(futures), desc, progress) as bar:
            for future in futures:
                future.add_done_callback(lambda _f: bar.update(1))
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            for future in done:
                if future.exception() is not None:
                    for other in futures:
                        other.cancel()
                    raise future.exception()  # type: ignore[misc]
            wait(futures)
        return [r for future in futures for r in future.result()]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def _run(fn: Callable[[list[Any]], Iterable[Any]], part: list[Any]) -> list[Any]:
    return list(fn(part))
