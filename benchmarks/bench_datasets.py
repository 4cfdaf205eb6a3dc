"""Datasets: a 200 MB upload through the eolab REST upload (streamed PUT, API key) against a
``requests.put`` of the same file to a bare tornado handler that streams it to disk
(goal: ratio of throughputs >= 0.8)."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import QUICK, median, row  # noqa: E402

from eolab.server.app import standalone_app  # noqa: E402
from eolab.workspace import Workspace  # noqa: E402

SIZE = (8 if QUICK else 200) * 1024 * 1024
REPEATS = 1 if QUICK else 3


@web.stream_request_body
class BareUpload(web.RequestHandler):
    """The baseline: the least a tornado server can do to put a request body in a file."""

    def prepare(self) -> None:
        self.fh = open(Path(self.settings["dest"]) / f"bare-{time.monotonic_ns()}", "wb")  # noqa: SIM115

    def data_received(self, chunk: bytes) -> None:
        self.fh.write(chunk)

    def put(self) -> None:
        self.fh.close()
        self.set_status(201)


def serve_in_thread(app: web.Application) -> int:
    sockets = bind_sockets(0, "127.0.0.1")
    port = sockets[0].getsockname()[1]
    ready = threading.Event()

    def loop() -> None:
        async def main() -> None:
            server = HTTPServer(app, max_body_size=SIZE * 2)
            server.add_sockets(sockets)
            ready.set()
            await asyncio.Event().wait()

        asyncio.run(main())

    threading.Thread(target=loop, daemon=True).start()
    ready.wait()
    return port


def timed_put(url: str, path: Path, headers: dict[str, str]) -> float:
    with open(path, "rb") as fh:
        start = time.perf_counter()
        response = requests.put(url, data=fh, headers=headers, timeout=600)
        elapsed = time.perf_counter() - start
    if response.status_code != 201:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        ws = Workspace.open(tmp_path / "home", user="bench", upload_max_bytes=SIZE * 2)
        ws.create_project("Bench").get_dataset_api().create("eodata")
        key, _ = ws.create_api_key("bench", ["dataset_view", "dataset_create"])
        source = tmp_path / "scene.bin"
        with open(source, "wb") as fh:
            for _ in range(SIZE // (1024 * 1024)):
                fh.write(os.urandom(1024 * 1024))
        ours_port = serve_in_thread(standalone_app(ws))
        (tmp_path / "bare").mkdir()
        bare_port = serve_in_thread(
            web.Application([("/upload", BareUpload)], dest=str(tmp_path / "bare"))
        )
        ours, bare = [], []
        for i in range(REPEATS):
            bare.append(timed_put(f"http://127.0.0.1:{bare_port}/upload", source, {}))
            url = f"http://127.0.0.1:{ours_port}/eolab/api/v1/projects/Bench/datasets/eodata/files/scene{i}.bin"
            ours.append(timed_put(url, source, {"Authorization": f"ApiKey {key}"}))
        row(
            "datasets",
            f"REST upload {SIZE / 2**20:.0f} MiB, throughput (goal ratio >= 0.8)",
            SIZE / 2**20 / median(ours),
            SIZE / 2**20 / median(bare),
            "MiB/s",
        )


if __name__ == "__main__":
    main()
