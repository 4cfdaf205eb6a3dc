"""Browser fixtures: one JupyterLab server and one Chromium for the whole session.

Chain: session EOLAB_HOME → SDK workspace (alice, project ExtremeEarth, dataset eodata, tag
schema location_polar) → JupyterLab serving that same home as alice → Chromium → one fresh
page per test. Each test makes its own uniquely named datasets and files, so tests do not
depend on their order. A failing test leaves ``tests/ui/screenshots/<test name>.png``.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

import eolab
from eolab.datasets.api import DatasetApi

from .helpers import DatasetsPanel, EolabSidebar, SearchPanel

PROJECT = "ExtremeEarth"
USER = "alice"
SCHEMA = "location_polar"
POLAR_SCHEMA: dict[str, Any] = {
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
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
SERVER_START_S = 60


@dataclass(frozen=True)
class LabServer:
    """A running JupyterLab: where it listens and the token that opens it."""

    url: str
    token: str
    log: Path

    def lab_url(self) -> str:
        return f"{self.url}/lab?token={self.token}"


# ---- pytest-jupyter's autouse fixtures, switched off here -----------------------------------
# They grab the thread's current event loop and close it after each test. Under Playwright's
# sync API that loop is Playwright's own, still running, so closing it fails. These tests
# drive a JupyterLab subprocess and never use pytest-jupyter's in-process server.


@pytest.fixture
def jp_asyncio_loop() -> None:
    return None


@pytest.fixture
def jp_server_cleanup() -> None:
    return None


# ---- failure screenshots ---------------------------------------------------------------------


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Keep each phase's report on the item, so fixture teardown can tell that a test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# ---- server-side data (SDK, same EOLAB_HOME as the server) ----------------------------------


@pytest.fixture(scope="session")
def lab_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The EOLAB_HOME shared by the SDK in this process and by the JupyterLab server."""
    return tmp_path_factory.mktemp("eolab-ui") / "home"


@pytest.fixture(scope="session")
def ui_workspace(lab_home: Path) -> eolab.Workspace:
    """The workspace as alice, its first (hence admin) user, with the polar tag schema."""
    ws = eolab.Workspace.open(lab_home, user=USER)
    ws.create_tag_schema(SCHEMA, POLAR_SCHEMA)
    return ws


@pytest.fixture(scope="session")
def ui_datasets(ui_workspace: eolab.Workspace) -> DatasetApi:
    """The dataset API of project ExtremeEarth, which has the dataset ``eodata``."""
    api = ui_workspace.create_project(PROJECT).get_dataset_api()
    api.create("eodata", description="ExtremeEarth polar scenes")
    return api


@pytest.fixture
def dataset(ui_datasets: DatasetApi) -> str:
    """A fresh, empty dataset with a unique name (letters and digits: one search word)."""
    name = f"polar{uuid.uuid4().hex[:10]}"
    ui_datasets.create(name, description=f"Sea ice scenes for {name}")
    return name


# ---- the JupyterLab server ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env(home: Path, state: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("EOLAB_") and k not in ("JUPYTERHUB_USER", "JUPYTER_TOKEN")
    }
    env.update(
        EOLAB_HOME=str(home),
        EOLAB_USER=USER,
        # Keep Lab's saved layouts, settings and runtime files out of the real ~/.jupyter.
        JUPYTERLAB_WORKSPACES_DIR=str(state / "workspaces"),
        JUPYTERLAB_SETTINGS_DIR=str(state / "settings"),
        JUPYTER_RUNTIME_DIR=str(state / "runtime"),
    )
    return env


@pytest.fixture(scope="session")
def lab_server(
    tmp_path_factory: pytest.TempPathFactory, lab_home: Path, ui_datasets: DatasetApi
) -> Iterator[LabServer]:
    """JupyterLab with the eolab extensions, serving ``lab_home`` as alice."""
    state = tmp_path_factory.mktemp("lab-state")
    root = tmp_path_factory.mktemp("lab-root")
    port = _free_port()
    token = secrets.token_hex(16)
    log = state / "jupyter.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter",
                "lab",
                "--no-browser",
                "--allow-root",
                f"--port={port}",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.token={token}",
                f"--ServerApp.root_dir={root}",
            ],
            env=_server_env(lab_home, state),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = LabServer(f"http://127.0.0.1:{port}", token, log)
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited ({proc.returncode}):\n{log.read_text()}")
            try:
                urllib.request.urlopen(f"{server.url}/api?token={token}", timeout=1).close()
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter lab did not answer:\n{log.read_text()}") from None
                time.sleep(0.25)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---- the browser ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class NewsToast:
    """JupyterLab's "get notified about official Jupyter news?" toast, answered "No".

    The answer is saved in the session's settings folder, so only the first page of the
    session waits for the toast; later pages only click it away if it is there.
    """

    asked = False

    @classmethod
    def dismiss(cls, page: Page) -> None:
        toast = page.locator(".Toastify__toast", has_text="Jupyter news")
        no = toast.get_by_role("button", name="No", exact=True)
        try:
            if cls.asked and not no.is_visible():
                return
            cls.asked = True
            no.click(timeout=3000)
            expect(toast).to_have_count(0)
        except Exception:
            pass  # not shown: nothing hides the page


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Browser, lab_server: LabServer) -> Iterator[Page]:
    """A fresh browser context and page on JupyterLab, ready to use."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(lab_server.lab_url())
    page.wait_for_selector(".jp-LabShell", timeout=60_000)
    page.wait_for_selector(EolabSidebar.TAB, timeout=30_000)
    NewsToast.dismiss(page)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(exist_ok=True)
        try:
            page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"))
        except Exception as exc:  # a screenshot must never hide the real failure
            print(f"screenshot failed: {exc}")
        if errors:
            print("page errors:", *errors, sep="\n  ")
    page.unroute_all(behavior="ignoreErrors")  # a held-back response may still be in flight
    context.close()


# ---- page objects ---------------------------------------------------------------------------


@pytest.fixture
def sidebar(page: Page) -> EolabSidebar:
    """The eolab sidebar, opened, with the project list loaded."""
    bar = EolabSidebar(page)
    bar.open()
    bar.wait_for_project(PROJECT)
    return bar


@pytest.fixture
def datasets_panel(sidebar: EolabSidebar) -> DatasetsPanel:
    return sidebar.datasets()


@pytest.fixture
def search_panel(sidebar: EolabSidebar) -> SearchPanel:
    return sidebar.search()
