"""IPython ``%eo`` / ``%%eo`` magics: ``%load_ext eolab`` registers them.

The magic itself is :class:`eolab.magics.core.EolabMagics`; its sub-commands live one group
per module of this package and register through :func:`eolab.magics.registry.subcommand`.
"""

from __future__ import annotations

from eolab.magics.core import EolabMagics

__all__ = ["EolabMagics"]
