"""Project-relative paths that can never escape their project.

Every path a user gives is relative (``eodata/raw/scene.tif``: dataset, then folders). It is
refused with InvalidPath when it is absolute, contains ``..``, a NUL or a backslash, or when,
after following symlinks, it lands outside its root. Nothing is touched before this check.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from eolab.errors import InvalidPath


def split_path(path: str) -> tuple[str, str]:
    """``'eodata/a/b.tif'`` → ``('eodata', 'a/b.tif')``; ``'eodata'`` → ``('eodata', '')``."""
    parts = clean_parts(path)
    if not parts:
        raise InvalidPath("a dataset path names a dataset first, got an empty path")
    return parts[0], "/".join(parts[1:])


def clean_parts(path: str) -> list[str]:
    if not isinstance(path, str):
        raise InvalidPath(f"a path is a string, got {type(path).__name__}")
    if "\\" in path or any(ord(c) < 32 or ord(c) == 127 for c in path):
        raise InvalidPath(f"path {path!r} contains a control character or a backslash")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise InvalidPath(f"path {path!r} is absolute; give it relative to the project's datasets")
    parts = [p for p in PurePosixPath(path).parts if p not in ("", ".")]
    if ".." in parts:
        raise InvalidPath(f"path {path!r} climbs out with '..'", details={"path": path})
    return parts


def resolve_inside(root: Path, relative: str) -> Path:
    """``root/relative``, refused if it (or, for a new path, its parent) resolves outside root."""
    parts = clean_parts(relative)
    target = root.joinpath(*parts)
    real_root = os.path.realpath(root)
    probe = target if target.exists() or target.is_symlink() else target.parent
    real = os.path.realpath(probe)
    if real != real_root and not real.startswith(real_root + os.sep):
        raise InvalidPath(
            f"path {relative!r} resolves outside its dataset (through a symlink?)",
            details={"path": relative},
        )
    return target
