"""The catalog on a real PostgreSQL server (started by the test from Debian's postgresql)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

import eolab
from eolab.catalog.migrations import HEAD
from eolab.errors import Conflict, Forbidden, ValidationFailed
from eolab.workspace import Workspace, reset_shared_catalogs

PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="module")
def postgres_url():
    if not PG_BIN:
        pytest.fail("PostgreSQL server binaries missing: `make setup` installs Debian's postgresql")
    bin_dir = Path(PG_BIN[-1])
    data = Path(tempfile.mkdtemp(prefix="eolab-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    subprocess.run(
        _as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "eolab"]),
        check=True,
        capture_output=True,
    )
    subprocess.run(
        _as_postgres(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-w",
                "-l",
                str(data / "log"),
                "-o",
                f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://eolab@127.0.0.1:{port}/postgres"
    finally:
        reset_shared_catalogs()
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def pg_workspace(postgres_url, tmp_path, monkeypatch):
    monkeypatch.setenv("EOLAB_CATALOG_URL", postgres_url)
    ws = Workspace.open(tmp_path / "home", user="alice")
    yield ws
    from eolab.catalog.models import Base

    Base.metadata.drop_all(ws.catalog.engine)
    reset_shared_catalogs()


def test_core_flow_on_postgresql(pg_workspace, tmp_path):
    ws = pg_workspace
    assert ws.catalog.engine.dialect.name == "postgresql"
    assert ws.catalog.meta("schema_version") == str(HEAD)
    project = ws.create_project("ExtremeEarth", "Arctic icebergs")
    datasets = project.get_dataset_api()
    datasets.create("eodata", "Sentinel-1 chips")
    source = tmp_path / "scene_100%_done.csv"
    source.write_text("a,b\n1,2\n")
    datasets.upload(source, "eodata", progress=False, chunk_size=4)
    ws.create_tag_schema(
        "location_polar",
        {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
    )
    datasets.add_tag("eodata", "location_polar", {"name": "Arctic Ocean"})
    hits = ws.search("arctic")
    assert {(h.kind, h.name) for h in hits.hits} == {
        ("project", "ExtremeEarth"),
        ("dataset", "eodata"),
    }
    assert [h.name for h in ws.search("100%").hits] == [
        "scene_100%_done.csv"
    ]  # LIKE wildcards escaped
    assert ws.search("e_data").total == 0  # '_' is not a LIKE wildcard: 'eodata' must not match
    key, _ = ws.create_api_key("ci", ["dataset_view"])
    assert Workspace.open(tmp_path / "home", api_key=key).caller.name == "alice"


def test_bad_input_on_postgresql_leaves_catalog_unchanged(pg_workspace):
    ws = pg_workspace
    project = ws.create_project("ExtremeEarth")
    with pytest.raises(Conflict):
        ws.create_project("ExtremeEarth")
    ws.create_tag_schema("location_polar", {"type": "object", "required": ["name"]})
    project.get_dataset_api().create("eodata")
    with pytest.raises(ValidationFailed):
        project.get_dataset_api().add_tag("eodata", "location_polar", {"where": "north"})
    assert project.get_dataset_api().get_tags("eodata") == {}
    with pytest.raises(Forbidden):
        ws.as_user("bob").get_project("ExtremeEarth")
    assert [p.name for p in ws.list_projects()] == ["ExtremeEarth"]


def test_connect_uses_the_catalog_url(pg_workspace, tmp_path):
    project = eolab.connect(
        project="ExtremeEarth", create=True, home=tmp_path / "home", user="alice"
    )
    assert project.workspace.catalog.url.startswith("postgresql")
