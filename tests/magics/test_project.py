"""``%eo project [NAME]``: selecting the current project and describing it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

import eolab
from eolab.widgets import Stack


def test_selecting_a_project_makes_it_current_and_describes_it(eo: Callable[..., Any]) -> None:
    result = eo("project ExtremeEarth")
    assert isinstance(result, Stack)
    current = eolab.current_project()
    assert (current.name, current.workspace.caller.name) == ("ExtremeEarth", "alice")
    summary, members = result.parts
    assert summary.title == "project ExtremeEarth"
    assert summary["your role"] == "data_owner"
    assert summary["owner"] == "alice"
    assert members.column("member") == ["alice"]
    assert members.column("role") == ["data_owner"]
    html = result._repr_html_()
    assert "project ExtremeEarth" in html and "data_owner" in html
    text = repr(result)
    assert text.startswith("project ExtremeEarth\n")
    assert "your role    data_owner" in text


def test_without_a_name_it_shows_the_current_project(
    eo: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert eo("project") is None
    assert capsys.readouterr().out.strip() == (
        "no project selected: select one with %eo project NAME"
    )
    eo("project ExtremeEarth")
    shown = eo("project")
    assert shown.parts[0].title == "project ExtremeEarth"
    assert shown.parts[1].column("member") == ["alice"]


def test_a_project_set_by_connect_is_the_current_one(eo: Callable[..., Any]) -> None:
    eolab.connect(project="ExtremeEarth")
    assert eo("project").parts[0]["your role"] == "data_owner"


def test_members_and_their_roles_are_listed(
    eo: Callable[..., Any], workspace: eolab.Workspace, project: eolab.Project
) -> None:
    workspace.as_user("bob")
    project.add_member("bob")
    members = eo("project ExtremeEarth").parts[1]
    assert list(zip(members.column("member"), members.column("role"), strict=True)) == [
        ("alice", "data_owner"),
        ("bob", "data_scientist"),
    ]


def test_the_description_is_escaped_in_html(
    eo: Callable[..., Any], workspace: eolab.Workspace
) -> None:
    workspace.create_project("Polar", "<script>alert('x')</script> SAR")
    html = eo("project Polar")._repr_html_()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; SAR" in html
    assert "<script>" not in html


def test_create_makes_a_missing_project(eo: Callable[..., Any]) -> None:
    assert eo("project Arctic2025 --create").parts[0]["your role"] == "data_owner"
    assert eolab.current_project().name == "Arctic2025"


def test_create_without_a_name_is_a_usage_error(
    eo: Callable[..., Any], error_line: Callable[[], str]
) -> None:
    assert eo("project --create") is None
    assert error_line() == "eolab: usage: --create needs a project NAME"


def test_an_unknown_project_is_one_line_and_keeps_the_current_one(
    eo: Callable[..., Any], error_line: Callable[[], str]
) -> None:
    eo("project ExtremeEarth")
    assert eo("project Nowhere") is None
    assert error_line() == "eolab: not_found: no project named 'Nowhere'"
    assert eolab.current_project().name == "ExtremeEarth"


def test_a_non_member_is_refused_in_one_line(
    eo: Callable[..., Any], error_line: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EOLAB_USER", "bob")
    assert eo("project ExtremeEarth") is None
    assert error_line() == (
        "eolab: forbidden: user 'bob' is not a member of project 'ExtremeEarth'"
    )
    assert eo("ls") is None  # nothing was selected
    assert "no_project" in error_line()


def test_in_a_notebook_cell_the_error_is_not_a_failure(
    shell: InteractiveShell, eo: Callable[..., Any], error_line: Callable[[], str]
) -> None:
    result = shell.run_cell("%eo project Nowhere")
    assert result.success and result.result is None
    assert "not_found" in error_line()
