"""Projects: create, list, describe, delete; members and roles; who may do what."""

from __future__ import annotations

from pathlib import Path

import pytest

import eolab
from eolab import errors
from eolab.datasets.api import DatasetApi
from eolab.projects import PROJECT_FOLDERS, Project


def project_names(ws: eolab.Workspace) -> list[str]:
    return [p.name for p in ws.list_projects()]


def members(project: Project) -> dict[str, str]:
    return {m.user: m.role for m in project.members()}


@pytest.fixture
def bob(workspace: eolab.Workspace) -> eolab.Workspace:
    """The same workspace as bob, a registered user who is in no project yet."""
    return workspace.as_user("bob")


def test_create_project_makes_folders_and_its_creator_data_owner(
    workspace: eolab.Workspace,
) -> None:
    project = workspace.create_project("ExtremeEarth", "Arctic sea ice")
    assert project.name == "ExtremeEarth"
    assert sorted(p.name for p in project.root.iterdir()) == sorted(PROJECT_FOLDERS)
    info = project.describe()
    assert (info.name, info.description, info.owner, info.role) == (
        "ExtremeEarth",
        "Arctic sea ice",
        "alice",
        "data_owner",
    )
    assert members(project) == {"alice": "data_owner"}
    assert project.role() == "data_owner"
    assert workspace.get_project("ExtremeEarth").describe().description == "Arctic sea ice"


def test_list_projects_shows_only_the_callers_projects(
    workspace: eolab.Workspace, bob: eolab.Workspace
) -> None:
    workspace.create_project("ExtremeEarth")
    bob.create_project("BobsLab")
    assert project_names(bob) == ["BobsLab"]
    # alice is admin: she sees every project, with no role in bob's
    listed = {p.name: p.role for p in workspace.list_projects()}
    assert listed == {"BobsLab": None, "ExtremeEarth": "data_owner"}


@pytest.mark.parametrize("name", ["ab", "1abc", "has space", "../escape", "a/b", "é_name", ""])
def test_invalid_project_name_raises_invalid_name(workspace: eolab.Workspace, name: str) -> None:
    with pytest.raises(errors.InvalidName):
        workspace.create_project(name)
    assert project_names(workspace) == []
    assert not (workspace.home / "projects").exists()
    assert not (workspace.home / "escape").exists()


def test_duplicate_project_raises_conflict(workspace: eolab.Workspace) -> None:
    workspace.create_project("ExtremeEarth", "first")
    with pytest.raises(errors.Conflict):
        workspace.create_project("ExtremeEarth", "second")
    assert project_names(workspace) == ["ExtremeEarth"]
    assert workspace.get_project("ExtremeEarth").describe().description == "first"


def test_project_folder_already_on_disk_raises_conflict(workspace: eolab.Workspace) -> None:
    stray = workspace.project_root("Orphan")
    stray.mkdir(parents=True)
    (stray / "keep.txt").write_text("mine")
    with pytest.raises(errors.Conflict):
        workspace.create_project("Orphan")
    assert project_names(workspace) == []
    assert workspace.search("Orphan").total == 0
    assert [p.name for p in stray.iterdir()] == ["keep.txt"]


def test_unknown_project_raises_not_found(workspace: eolab.Workspace) -> None:
    with pytest.raises(errors.NotFound):
        workspace.get_project("Nowhere")


def test_delete_project_with_confirm_removes_everything(
    workspace: eolab.Workspace, datasets: DatasetApi, tmp_path: Path
) -> None:
    (tmp_path / "scene.txt").write_text("ice")
    datasets.upload(tmp_path / "scene.txt", "eodata", progress=False)
    root = datasets.project.root

    workspace.delete_project("ExtremeEarth", confirm="ExtremeEarth")

    assert project_names(workspace) == []
    assert not root.exists()
    assert not (workspace.home / "trash").exists() or not any((workspace.home / "trash").iterdir())
    assert workspace.search("ExtremeEarth").total == 0
    assert workspace.search("eodata").total == 0
    # a new project with the same name starts empty: the old datasets went with the old row
    again = workspace.create_project("ExtremeEarth")
    assert again.get_dataset_api().list() == []


@pytest.mark.parametrize("confirm", [None, "", "extremeearth", "ExtremeEarth "])
def test_delete_project_with_wrong_confirm_raises_invalid_input(
    workspace: eolab.Workspace, datasets: DatasetApi, confirm: str | None
) -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        workspace.delete_project("ExtremeEarth", confirm=confirm)
    assert caught.value.details == {"field": "confirm"}
    assert project_names(workspace) == ["ExtremeEarth"]
    assert (datasets.root / "eodata").is_dir()
    assert [d.name for d in datasets.list()] == ["eodata"]


def test_project_handle_delete_needs_confirm_too(
    workspace: eolab.Workspace, project: Project
) -> None:
    with pytest.raises(errors.InvalidInput):
        project.delete()
    assert project.root.is_dir()
    project.delete(confirm="ExtremeEarth")
    assert not project.root.exists()
    assert project_names(workspace) == []


def test_non_member_is_forbidden_everywhere_in_the_project(
    workspace: eolab.Workspace, datasets: DatasetApi, bob: eolab.Workspace
) -> None:
    with pytest.raises(errors.Forbidden):
        bob.get_project("ExtremeEarth")
    with pytest.raises(errors.Forbidden):
        bob.search("eodata", project="ExtremeEarth")
    foreign = Project(bob, "ExtremeEarth").get_dataset_api()  # a handle bob should not have
    for call in (
        lambda: foreign.ls("eodata"),
        lambda: foreign.list(),
        lambda: foreign.create("bobs"),
        lambda: foreign.mkdir("eodata/bobs"),
        lambda: foreign.delete("eodata"),
    ):
        with pytest.raises(errors.Forbidden):
            call()
    with pytest.raises(errors.Forbidden):
        bob.delete_project("ExtremeEarth", confirm="ExtremeEarth")
    assert bob.search("eodata").total == 0
    assert [d.name for d in datasets.list()] == ["eodata"]
    assert sorted(p.name for p in (datasets.root / "eodata").iterdir()) == []
    assert project_names(workspace) == ["ExtremeEarth"]


def test_add_member_and_change_role(
    workspace: eolab.Workspace, project: Project, bob: eolab.Workspace
) -> None:
    added = project.add_member("bob")
    assert (added.user, added.role) == ("bob", "data_scientist")
    assert bob.get_project("ExtremeEarth").role() == "data_scientist"

    changed = project.add_member("bob", "data_owner")
    assert changed.role == "data_owner"
    assert members(project) == {"alice": "data_owner", "bob": "data_owner"}
    assert project_names(bob) == ["ExtremeEarth"]

    project.remove_member("bob")
    assert members(project) == {"alice": "data_owner"}
    with pytest.raises(errors.Forbidden):
        bob.get_project("ExtremeEarth")


@pytest.mark.parametrize("role", ["admin", "owner", "DATA_OWNER", ""])
def test_add_member_with_invalid_role_raises_invalid_input(
    project: Project, bob: eolab.Workspace, role: str
) -> None:
    with pytest.raises(errors.InvalidInput):
        project.add_member("bob", role)
    assert members(project) == {"alice": "data_owner"}


def test_add_unknown_user_raises_not_found(project: Project) -> None:
    with pytest.raises(errors.NotFound):
        project.add_member("nobody")
    assert members(project) == {"alice": "data_owner"}


def test_removing_a_non_member_raises_invalid_input(project: Project, bob: eolab.Workspace) -> None:
    with pytest.raises(errors.InvalidInput):
        project.remove_member("bob")
    assert members(project) == {"alice": "data_owner"}


def test_last_owner_cannot_be_removed_or_demoted(project: Project) -> None:
    with pytest.raises(errors.Conflict):
        project.remove_member("alice")
    with pytest.raises(errors.Conflict):
        project.add_member("alice", "data_scientist")
    assert members(project) == {"alice": "data_owner"}


def test_an_owner_may_leave_once_another_owner_exists(
    project: Project, bob: eolab.Workspace
) -> None:
    project.add_member("bob", "data_owner")
    project.remove_member("alice")
    bobs = bob.get_project("ExtremeEarth")
    assert members(bobs) == {"bob": "data_owner"}
    with pytest.raises(errors.Conflict):
        bobs.remove_member("bob")


def test_data_scientist_cannot_manage_members_or_delete_the_project(
    workspace: eolab.Workspace, project: Project, bob: eolab.Workspace
) -> None:
    workspace.as_user("carol")
    project.add_member("bob")
    bobs = bob.get_project("ExtremeEarth")
    with pytest.raises(errors.Forbidden):
        bobs.add_member("carol")
    with pytest.raises(errors.Forbidden):
        bobs.add_member("bob", "data_owner")
    with pytest.raises(errors.Forbidden):
        bobs.remove_member("alice")
    with pytest.raises(errors.Forbidden):
        bobs.delete(confirm="ExtremeEarth")
    assert members(project) == {"alice": "data_owner", "bob": "data_scientist"}
    assert project.root.is_dir()


def test_data_scientist_deletes_only_datasets_it_created(
    datasets: DatasetApi, bob: eolab.Workspace, tmp_path: Path
) -> None:
    datasets.project.add_member("bob")
    bobs = bob.get_project("ExtremeEarth").get_dataset_api()
    bobs.create("bobdata")
    (tmp_path / "f.txt").write_text("x")
    datasets.upload(tmp_path / "f.txt", "eodata", progress=False)

    with pytest.raises(errors.Forbidden):
        bobs.delete("eodata")
    with pytest.raises(errors.Forbidden):
        bobs.remove("eodata/f.txt")
    assert sorted(d.name for d in datasets.list()) == ["bobdata", "eodata"]
    assert (datasets.root / "eodata" / "f.txt").read_text() == "x"

    bobs.delete("bobdata")
    assert [d.name for d in datasets.list()] == ["eodata"]
    assert not (datasets.root / "bobdata").exists()
    # a data owner deletes anything
    bobs.create("bobdata2")
    datasets.delete("bobdata2")
    assert [d.name for d in datasets.list()] == ["eodata"]


def test_connect_creates_and_binds_the_current_project(workspace: eolab.Workspace) -> None:
    with pytest.raises(errors.NotFound):
        eolab.connect(project="Polar", user="alice")
    assert project_names(workspace) == []
    handle = eolab.connect(project="Polar", create=True, user="alice", description="d")
    assert eolab.current_project() is handle
    assert handle.engine == "python"
    assert project_names(workspace) == ["Polar"]


def test_connect_without_a_project_name_raises_invalid_input(
    workspace: eolab.Workspace,
) -> None:
    with pytest.raises(errors.InvalidInput):
        eolab.connect(user="alice", create=True)
    assert project_names(workspace) == []
