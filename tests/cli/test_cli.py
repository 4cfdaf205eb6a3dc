"""The ``eolab`` command, through click's runner, against a real workspace."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from eolab.cli import main
from eolab.workspace import Workspace, reset_shared_catalogs

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "location": {"type": "string"}},
    "required": ["name"],
}


@pytest.fixture
def cli(tmp_path):
    home = tmp_path / "home"
    runner = CliRunner()

    def run(*args: str, user: str = "alice"):
        return runner.invoke(
            main, ["--home", str(home), "--user", user, *args], catch_exceptions=False
        )

    run.home = home  # type: ignore[attr-defined]
    yield run
    reset_shared_catalogs()


def test_init_makes_first_user_admin(cli):
    result = cli("init")
    assert result.exit_code == 0
    assert "you are alice (admin)" in result.output


def test_project_dataset_upload_ls_download(cli, tmp_path):
    assert cli("project", "create", "ExtremeEarth").exit_code == 0
    assert cli("dataset", "create", "eodata", "-p", "ExtremeEarth").exit_code == 0
    local = tmp_path / "notes.txt"
    local.write_text("sea ice\n")
    up = cli("dataset", "upload", str(local), "eodata", "-p", "ExtremeEarth")
    assert up.exit_code == 0, up.output
    assert "uploaded eodata/notes.txt (8 bytes)" in up.output
    listing = cli("dataset", "ls", "eodata", "-p", "ExtremeEarth")
    assert "notes.txt" in listing.output
    out = tmp_path / "back.txt"
    assert (
        cli("dataset", "download", "eodata/notes.txt", str(out), "-p", "ExtremeEarth").exit_code
        == 0
    )
    assert out.read_text() == "sea ice\n"


def test_tags_and_search(cli):
    cli("project", "create", "ExtremeEarth")
    cli("dataset", "create", "eodata", "-p", "ExtremeEarth")
    assert cli("tag-schema", "create", "location_polar", json.dumps(SCHEMA)).exit_code == 0
    tagged = cli(
        "tag",
        "add",
        "eodata",
        "location_polar",
        '{"name": "eodata", "location": "Arctic Ocean"}',
        "-p",
        "ExtremeEarth",
    )
    assert tagged.exit_code == 0, tagged.output
    found = cli("search", "arctic")
    assert "1 hit(s)" in found.output and "eodata" in found.output


def test_add_member_and_apikey(cli):
    cli("project", "create", "ExtremeEarth")
    assert cli("user-create", "bob").exit_code == 0
    added = cli("project", "add-member", "ExtremeEarth", "bob", "--role", "data_scientist")
    assert "bob is data_scientist of ExtremeEarth" in added.output
    created = cli("apikey", "create", "ci", "--scope", "dataset_view")
    secret = created.stdout.strip().splitlines()[0]
    assert secret.startswith("eol_")
    ws = Workspace.open(cli.home, api_key=secret)
    assert ws.caller.name == "alice" and ws.caller.scopes == frozenset({"dataset_view"})


def test_errors_are_one_line_and_exit_2(cli):
    cli("project", "create", "ExtremeEarth")
    result = cli("project", "create", "ExtremeEarth")
    assert result.exit_code == 2
    assert (
        result.output.strip() == "error (conflict): a project named 'ExtremeEarth' already exists"
    )
    bad = cli("project", "create", "9bad name")
    assert bad.exit_code == 2 and "invalid_name" in bad.output
    assert "Traceback" not in bad.output


def test_non_member_is_refused(cli):
    cli("project", "create", "ExtremeEarth")
    cli("user-create", "bob")
    result = cli("dataset", "ls", "eodata", "-p", "ExtremeEarth", user="bob")
    assert result.exit_code == 2 and "forbidden" in result.output


def test_bad_tag_value_is_refused_with_field(cli):
    cli("project", "create", "ExtremeEarth")
    cli("dataset", "create", "eodata", "-p", "ExtremeEarth")
    cli("tag-schema", "create", "location_polar", json.dumps(SCHEMA))
    result = cli("tag", "add", "eodata", "location_polar", '{"location": 3}', "-p", "ExtremeEarth")
    assert result.exit_code == 2
    assert "validation_failed" in result.output and "field 'name'" in result.output
    assert (
        Workspace.open(cli.home, user="alice")
        .get_project("ExtremeEarth")
        .get_dataset_api()
        .get_tags("eodata")
        == {}
    )


def test_project_delete_needs_confirmation(cli):
    cli("project", "create", "ExtremeEarth")
    result = cli("project", "delete", "ExtremeEarth", "--confirm", "wrong")
    assert result.exit_code == 2
    assert "ExtremeEarth" in cli("project", "list").output
    assert cli("project", "delete", "ExtremeEarth", "--confirm", "ExtremeEarth").exit_code == 0
    assert "ExtremeEarth" not in cli("project", "list").output
