"""The tail of a serving's own log files, on real files: the last lines in order from large
files read back in blocks, odd endings, UTF-8 cut by a block boundary, and every refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from eolab.errors import InvalidInput, NotFound
from eolab.serving import instance_logs, runtime
from eolab.serving.instance_logs import log_sources, read_log

NAME = "Summer"


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    folder = runtime.log_dir(tmp_path, NAME)
    folder.mkdir(parents=True)
    return folder


def test_tail_of_a_large_file_is_its_last_lines_in_order(tmp_path, logs):
    (logs / "supervisor.log").write_text("".join(f"line {i}\n" for i in range(50_000)))
    got = read_log(tmp_path, NAME, "supervisor", tail=1234)
    assert got.lines == [f"line {i}" for i in range(50_000 - 1234, 50_000)]
    assert got.truncated and got.source == "supervisor"
    assert got.size_bytes == (logs / "supervisor.log").stat().st_size
    assert got.modified_at is not None and got.modified_at.tzinfo is not None
    assert read_log(tmp_path, NAME, tail=1).lines == ["line 49999"]
    assert read_log(tmp_path, NAME).lines[0] == "line 49800"


def test_a_large_file_is_read_from_its_end_only(tmp_path, logs, monkeypatch):
    (logs / "supervisor.log").write_bytes(b"x" * 20_000_000 + b"\nlast\n")
    reads: list[int] = []
    original = instance_logs._tail_lines

    def counting(handle, size, tail):
        read = handle.read

        def spy(n=-1):
            data = read(n)
            reads.append(len(data))
            return data

        handle.read = spy
        return original(handle, size, tail)

    monkeypatch.setattr(instance_logs, "_tail_lines", counting)
    got = read_log(tmp_path, NAME, tail=1)
    assert got.lines == ["last"] and got.truncated
    assert sum(reads) <= instance_logs.BLOCK
    got = read_log(tmp_path, NAME, tail=2)  # a line longer than the read cap is cut at its start
    assert got.lines[-1] == "last" and got.truncated
    assert sum(reads) <= instance_logs.BLOCK + instance_logs.MAX_READ + instance_logs.BLOCK


def test_whole_small_files_and_odd_endings(tmp_path, logs):
    (logs / "instance-0.log").write_text("a\nb\nc")  # no trailing newline
    got = read_log(tmp_path, NAME, "instance-0", tail=10)
    assert (got.lines, got.truncated) == (["a", "b", "c"], False)
    assert read_log(tmp_path, NAME, "instance-0", tail=2).lines == ["b", "c"]
    assert read_log(tmp_path, NAME, "instance-0", tail=3).truncated is False
    (logs / "instance-1.log").write_bytes(b"")
    got = read_log(tmp_path, NAME, "instance-1")
    assert (got.lines, got.truncated, got.size_bytes) == ([], False, 0)
    (logs / "instance-2.log").write_bytes(b"one\r\n\ntwo\n")
    assert read_log(tmp_path, NAME, "instance-2").lines == ["one", "", "two"]
    (logs / "instance-3.log").write_bytes(b"bad \xff byte\n")
    assert read_log(tmp_path, NAME, "instance-3").lines == ["bad \ufffd byte"]


def test_utf8_character_split_across_a_block_boundary(tmp_path, logs):
    block = instance_logs.BLOCK
    # "é" is two bytes; place it so that the boundary (size - BLOCK) falls between them.
    tail_text = "é" + "z" * (block - 6) + "\nend\n"
    raw = ("prefix\n" + "y" * 100).encode() + tail_text.encode()
    boundary = len(raw) - block
    assert raw[boundary - 1 : boundary + 1] == "é".encode()
    (logs / "supervisor.log").write_bytes(raw)
    got = read_log(tmp_path, NAME, tail=2)
    assert got.lines == ["y" * 100 + "é" + "z" * (block - 6), "end"]
    assert "\ufffd" not in got.lines[0]


def test_sources_are_the_files_on_disk_supervisor_first_instances_by_number(tmp_path, logs):
    assert log_sources(tmp_path, "Other") == []
    for f in ("instance-10.log", "instance-2.log", "supervisor.log", "instance-0.log", "x.log"):
        (logs / f).write_text("")
    (logs / "instance-1.log.tmp").write_text("")
    assert log_sources(tmp_path, NAME) == ["supervisor", "instance-0", "instance-2", "instance-10"]


@pytest.mark.parametrize("tail", [0, -1, 10_001, "5", 2.0, True, None])
def test_bad_tail_is_invalid_input(tmp_path, logs, tail):
    (logs / "supervisor.log").write_text("a\n")
    with pytest.raises(InvalidInput, match="tail must be an integer from 1 to 10000"):
        read_log(tmp_path, NAME, tail=tail)


@pytest.mark.parametrize(
    "source",
    ["../x", "../../etc/passwd", "supervisor/../../x", "instance-", "instance-a", "instance-01",
     "/etc/passwd", "supervisor.log", "instance--1", "", None],
)  # fmt: skip
def test_unknown_or_traversing_source_is_invalid_input(tmp_path, logs, source):
    (tmp_path / "x.log").write_text("secret\n")
    with pytest.raises(InvalidInput, match="log source must be"):
        read_log(tmp_path, NAME, source)


@pytest.mark.parametrize("name", ["../Other", "..", "a/b", ""])
def test_traversing_serving_name_is_invalid_input(tmp_path, name):
    with pytest.raises(InvalidInput):
        read_log(tmp_path, name)
    with pytest.raises(InvalidInput):
        log_sources(tmp_path, name)


def test_missing_file_is_not_found_listing_the_sources(tmp_path, logs):
    (logs / "supervisor.log").write_text("up\n")
    (logs / "instance-0.log").write_text("up\n")
    with pytest.raises(NotFound) as raised:
        read_log(tmp_path, NAME, "instance-7")
    assert "['supervisor', 'instance-0']" in raised.value.message
    assert raised.value.details["sources"] == ["supervisor", "instance-0"]
    with pytest.raises(NotFound, match="none yet"):
        read_log(tmp_path, "Never", "supervisor")
