"""Free-text search, across the caller's projects or within one."""

from __future__ import annotations

from eolab.server.base import ApiHandler
from eolab.server.models import SearchResponse


class SearchResource(ApiHandler):
    async def get(self, project: str | None = None) -> None:
        result = await self.run(
            self.ws.search,
            self.query("term", ""),
            self.query("scope", "everything"),
            project or self.query("project"),
            self.query("limit", 20, int),
            self.query("offset", 0, int),
        )
        self.send_model(SearchResponse.model_validate(result))
