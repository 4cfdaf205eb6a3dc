"""The ``eolab`` jupyter_server extension and the standalone ``eolab server``.

Both serve the same handlers (:mod:`eolab.server.routes`); only the base differs: inside
Jupyter a request is authenticated by the Jupyter server (and runs as the Jupyter user) or by
an eolab API key; standalone, only by an API key.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.extension.application import ExtensionApp
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from eolab.errors import Unauthorized
from eolab.server.base import (
    API_PREFIX,
    WORKSPACE_SETTING,
    ApiHandler,
    NotFoundHandler,
    StandaloneHandler,
)
from eolab.server.openapi import all_routes
from eolab.workspace import Workspace


class JupyterApiHandler(ApiHandler, ExtensionHandlerMixin, JupyterHandler):
    """Base inside Jupyter: the Jupyter server's auth, or ``Authorization: ApiKey …``."""

    async def prepare(self) -> None:  # type: ignore[override]
        token = self.api_key()
        if token is not None:
            if not self.check_host():
                raise web.HTTPError(403)
            await asyncio.get_running_loop().run_in_executor(None, self.authenticate_api_key, token)
            return
        try:
            await JupyterHandler.prepare(self, _redirect_to_login=False)
        except web.HTTPError as exc:
            if getattr(self, "_jupyter_current_user", None) is None:
                raise Unauthorized(
                    "log in to Jupyter, or send 'Authorization: ApiKey <key>'"
                ) from exc
            raise
        if self.current_user is None:
            raise Unauthorized("log in to Jupyter, or send 'Authorization: ApiKey <key>'")
        self.workspace_for_request = self.base_workspace

    def check_xsrf_cookie(self) -> None:
        if self.api_key() is not None:
            return None  # API-key requests carry no cookies, so no cross-site forgery
        return super().check_xsrf_cookie()


def build_handlers(base: type[ApiHandler]) -> list[tuple[str, type, dict[str, Any]]]:
    """The route table bound to one base class (Jupyter's or the standalone one)."""
    handlers: list[tuple[str, type, dict[str, Any]]] = []
    for route in all_routes():
        cls = type(route.handler.__name__, (route.handler, base), {})
        handlers.append((route.pattern, cls, {}))
    fallback = type("NotFoundResource", (NotFoundHandler, base), {})
    handlers.append((API_PREFIX + "/.*", fallback, {}))
    return handlers


class EolabApp(ExtensionApp):
    """The eolab server extension, loaded by JupyterLab."""

    name = "eolab"
    load_other_extensions = True

    def initialize_settings(self) -> None:
        self.settings[WORKSPACE_SETTING] = Workspace.open()
        self.log.info("eolab: workspace %s", self.settings[WORKSPACE_SETTING].home)

    def initialize_handlers(self) -> None:
        self.handlers.extend(
            (pattern, cls) for pattern, cls, _ in build_handlers(JupyterApiHandler)
        )


def standalone_app(workspace: Workspace) -> web.Application:
    """The REST API without Jupyter: API-key authentication only."""
    return web.Application(
        build_handlers(StandaloneHandler),
        **{WORKSPACE_SETTING: workspace},
        max_body_size=workspace.settings.upload_max_bytes,
    )


def serve(port: int, host: str = "127.0.0.1", workspace: Workspace | None = None) -> None:
    """Run ``eolab server`` until interrupted."""
    logging.basicConfig(level=logging.INFO)
    app = standalone_app(workspace or Workspace.open())

    async def main() -> None:
        app.listen(port, address=host, max_body_size=app.settings["max_body_size"])
        logging.getLogger("eolab.server").info(
            "eolab server on http://%s:%d%s", host, port, API_PREFIX
        )
        await asyncio.Event().wait()

    asyncio.run(main())
