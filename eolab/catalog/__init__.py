"""The catalog: every eolab entity in one SQL database (SQLite by default)."""

from eolab.catalog.db import Catalog
from eolab.catalog.models import utcnow

__all__ = ["Catalog", "utcnow"]
