"""A serving's own log files, read back for the notebook, the REST API and the Serving panel:
``<project>/Logs/servings/<name>/supervisor.log`` and ``instance-<i>.log`` (see
:func:`eolab.serving.runtime.log_dir`), like ``kubectl logs`` of a predictor.

Only the last lines are read, seeking back from the end of the file in blocks, so that a large
log costs what is shown and no more. The files outlive the serving: they are readable while it
runs and after it stopped.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from eolab.errors import InvalidInput, NotFound
from eolab.names import check_name
from eolab.serving import runtime

SUPERVISOR = "supervisor"
SOURCE = re.compile(r"^(supervisor|instance-(0|[1-9][0-9]{0,5}))$")
INSTANCE_FILE = re.compile(r"^instance-(0|[1-9][0-9]{0,5})\.log$")
MAX_TAIL = 10_000
BLOCK = 64 * 1024
# A tail of very long lines stops here: the oldest line shown is then cut at its start.
MAX_READ = 16 * 1024 * 1024


@dataclass
class LogTail:
    """The last ``lines`` of one log ``source``; ``truncated`` when the file holds more."""

    source: str
    lines: list[str] = field(default_factory=list)
    size_bytes: int = 0
    truncated: bool = False
    modified_at: datetime | None = None


def log_sources(project_root: Path, name: str) -> list[str]:
    """The serving's log sources that exist on disk: ``supervisor``, then ``instance-<i>`` by i."""
    folder = runtime.log_dir(Path(project_root), check_name(name, "serving"))
    try:
        files = [entry.name for entry in os.scandir(folder) if entry.is_file()]
    except (FileNotFoundError, NotADirectoryError):
        return []
    indexes = sorted(int(m.group(1)) for f in files if (m := INSTANCE_FILE.match(f)))
    head = [SUPERVISOR] if runtime.SUPERVISOR_LOG in files else []
    return head + [f"instance-{i}" for i in indexes]


def read_log(project_root: Path, name: str, source: str = SUPERVISOR, tail: int = 200) -> LogTail:
    """The last ``tail`` (1..10000) lines of the serving's log ``source``.

    Raises InvalidInput for a bad ``tail`` or a ``source`` that is neither ``supervisor`` nor
    ``instance-<i>``, and NotFound (listing the sources that exist) for a file not written yet.
    """
    check_name(name, "serving")
    if isinstance(tail, bool) or not isinstance(tail, int) or not 1 <= tail <= MAX_TAIL:
        raise InvalidInput(
            f"tail must be an integer from 1 to {MAX_TAIL}, got {tail!r}",
            details={"field": "tail", "given": repr(tail)},
        )
    if not isinstance(source, str) or not SOURCE.match(source):
        raise InvalidInput(
            f"log source must be 'supervisor' or 'instance-<i>', got {source!r}",
            details={"field": "source", "given": repr(source)},
        )
    path = runtime.log_dir(Path(project_root), name) / f"{source}.log"
    try:
        with path.open("rb") as handle:
            stat = os.fstat(handle.fileno())
            lines, truncated = _tail_lines(handle, stat.st_size, tail)
    except (FileNotFoundError, IsADirectoryError):
        sources = log_sources(project_root, name)
        raise NotFound(
            f"serving {name!r} has no {source} log; it has {sources or 'none yet'}",
            details={"serving": name, "source": source, "sources": sources},
        ) from None
    return LogTail(
        source=source,
        lines=lines,
        size_bytes=stat.st_size,
        truncated=truncated,
        modified_at=datetime.fromtimestamp(stat.st_mtime, UTC),
    )


def _tail_lines(handle: BinaryIO, size: int, tail: int) -> tuple[list[str], bool]:
    """The last ``tail`` lines of the first ``size`` bytes of ``handle``, and whether any came
    before them. Lines are split as bytes (a UTF-8 character never holds a newline byte) and
    decoded whole, so a character cut by a block boundary is decoded intact."""
    if size == 0:
        return [], False
    end = size
    chunks: list[bytes] = []
    newlines = 0
    pos = end
    # A file's last newline ends its last line; lines = newlines before it + 1.
    while pos > 0 and newlines <= tail and end - pos < MAX_READ:
        step = min(BLOCK, pos)
        pos -= step
        handle.seek(pos)
        chunk = handle.read(step)
        chunks.append(chunk)
        newlines += chunk.count(b"\n")
    data = b"".join(reversed(chunks))
    if data.endswith(b"\n"):
        data = data[:-1]
    parts = data.split(b"\n")
    # Unless the read reached the start of the file, its first part is a cut line.
    cut_first = pos > 0
    if cut_first:
        parts = parts[1:] if len(parts) > 1 else parts
    truncated = cut_first or len(parts) > tail
    kept = parts[-tail:]
    return [p.decode("utf-8", errors="replace").removesuffix("\r") for p in kept], truncated
