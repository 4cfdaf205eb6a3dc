"""Users (first one admin) and API keys: hashing, scopes, expiry, revocation, project binding."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text, update

import eolab
from eolab import errors
from eolab.catalog import utcnow
from eolab.catalog.models import ApiKey
from eolab.datasets.api import DatasetApi
from eolab.projects import Project


def key_names(ws: eolab.Workspace, project: str | None = None) -> list[str]:
    return [k.name for k in ws.list_api_keys(project)]


# ---- users ---------------------------------------------------------------------------------


def test_first_user_is_admin_and_later_users_are_not(workspace: eolab.Workspace) -> None:
    bob = workspace.as_user("bob")
    assert workspace.whoami().is_admin
    assert not bob.whoami().is_admin
    assert [(u.name, u.is_admin) for u in workspace.list_users()] == [
        ("alice", True),
        ("bob", False),
    ]


def test_admin_creates_users(workspace: eolab.Workspace) -> None:
    carol = workspace.create_user("carol", email="carol@example.org")
    assert (carol.name, carol.email, carol.is_admin) == ("carol", "carol@example.org", False)
    workspace.create_user("dora", admin=True)
    assert workspace.as_user("dora").whoami().is_admin
    assert [u.name for u in workspace.list_users()] == ["alice", "carol", "dora"]


def test_non_admin_cannot_create_users(workspace: eolab.Workspace) -> None:
    bob = workspace.as_user("bob")
    with pytest.raises(errors.Forbidden):
        bob.create_user("mallory", admin=True)
    assert [u.name for u in workspace.list_users()] == ["alice", "bob"]


def test_duplicate_or_invalid_user_is_refused(workspace: eolab.Workspace) -> None:
    with pytest.raises(errors.Conflict):
        workspace.create_user("alice")
    with pytest.raises(errors.InvalidName):
        workspace.create_user("bad/name")
    with pytest.raises(errors.InvalidName):
        workspace.as_user("../root")
    assert [u.name for u in workspace.list_users()] == ["alice"]


# ---- keys ----------------------------------------------------------------------------------


def test_api_key_secret_is_stored_only_as_a_hash(workspace: eolab.Workspace) -> None:
    key, info = workspace.create_api_key("ci", ["dataset_view"])
    assert key.startswith(f"eol_{info.prefix}.")
    secret = key.split(".", 1)[1]
    with workspace.tx(write=False) as s:
        rows = s.execute(text("SELECT * FROM api_keys")).mappings().all()
    assert len(rows) == 1
    for column, value in rows[0].items():
        assert secret not in str(value), f"secret stored in column {column}"
        assert key not in str(value)
    assert rows[0]["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert (info.user, info.scopes, info.revoked, info.expires_at) == (
        "alice",
        ["dataset_view"],
        False,
        None,
    )


def test_api_key_authenticates_as_its_user_with_its_scopes(
    workspace: eolab.Workspace, home: Path
) -> None:
    key, info = workspace.create_api_key("ci", ["dataset_view", "project"])
    keyed = workspace.as_api_key(key)
    assert keyed.caller.name == "alice"
    assert keyed.caller.scopes == frozenset({"dataset_view", "project"})
    assert eolab.Workspace.open(home, api_key=key).caller.name == "alice"
    assert workspace.list_api_keys()[0].last_used_at is not None
    assert key_names(workspace) == ["ci"]


@pytest.mark.parametrize(
    "token", ["", "nope", "eol_nodot", "eol_000000000000.wrongsecret", "bearer abc.def"]
)
def test_unknown_or_malformed_key_is_unauthorized(workspace: eolab.Workspace, token: str) -> None:
    workspace.create_api_key("ci", ["dataset_view"])
    with pytest.raises(errors.Unauthorized):
        workspace.as_api_key(token)


def test_key_with_right_prefix_and_wrong_secret_is_unauthorized(
    workspace: eolab.Workspace,
) -> None:
    _, info = workspace.create_api_key("ci", ["dataset_view"])
    with pytest.raises(errors.Unauthorized):
        workspace.as_api_key(f"eol_{info.prefix}.not-the-secret")
    assert workspace.list_api_keys()[0].last_used_at is None


def test_revoked_key_is_unauthorized(workspace: eolab.Workspace) -> None:
    key, info = workspace.create_api_key("ci", ["dataset_view"])
    workspace.as_api_key(key)
    revoked = workspace.revoke_api_key(info.prefix)
    assert revoked.revoked
    with pytest.raises(errors.Unauthorized, match="revoked"):
        workspace.as_api_key(key)
    assert workspace.list_api_keys()[0].revoked


def test_expired_key_is_unauthorized(workspace: eolab.Workspace) -> None:
    key, info = workspace.create_api_key("short", ["dataset_view"], expires_in_days=0.00001)
    assert info.expires_at is not None
    assert timedelta(0) < info.expires_at - info.created_at < timedelta(seconds=2)
    long_key, long_info = workspace.create_api_key("long", ["dataset_view"], expires_in_days=30)
    with workspace.tx() as s:  # move the short key's expiry into the past instead of sleeping
        s.execute(
            update(ApiKey)
            .where(ApiKey.prefix == info.prefix)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    with pytest.raises(errors.Unauthorized, match="expired"):
        workspace.as_api_key(key)
    assert workspace.as_api_key(long_key).caller.name == "alice"


@pytest.mark.parametrize("days", [0, -1])
def test_non_positive_expiry_raises_invalid_input(workspace: eolab.Workspace, days: float) -> None:
    with pytest.raises(errors.InvalidInput):
        workspace.create_api_key("ci", ["dataset_view"], expires_in_days=days)
    assert key_names(workspace) == []


@pytest.mark.parametrize("scopes", [["dataset_read"], [], ["dataset_view", "ADMIN"]])
def test_unknown_or_empty_scopes_raise_invalid_input(
    workspace: eolab.Workspace, scopes: list[str]
) -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        workspace.create_api_key("ci", scopes)
    assert caught.value.details["field"] == "scopes"
    assert key_names(workspace) == []


def test_only_admins_create_admin_scoped_keys(workspace: eolab.Workspace) -> None:
    bob = workspace.as_user("bob")
    with pytest.raises(errors.Forbidden):
        bob.create_api_key("root", ["admin"])
    assert key_names(bob) == []
    _, info = workspace.create_api_key("root", ["admin"])
    assert info.scopes == ["admin"]


def test_a_key_cannot_create_keys(workspace: eolab.Workspace) -> None:
    key, _ = workspace.create_api_key("ci", ["project", "admin"])
    with pytest.raises(errors.Forbidden):
        workspace.as_api_key(key).create_api_key("child", ["dataset_view"])
    assert key_names(workspace) == ["ci"]


def test_under_scoped_key_can_list_but_not_create_datasets(
    workspace: eolab.Workspace, datasets: DatasetApi
) -> None:
    key, _ = workspace.create_api_key("reader", ["dataset_view"])
    keyed = workspace.as_api_key(key).get_project("ExtremeEarth").get_dataset_api()
    assert keyed.ls("eodata") == []
    assert [d.name for d in keyed.list()] == ["eodata"]
    with pytest.raises(errors.Forbidden) as caught:
        keyed.create("newdata")
    assert caught.value.details == {"required_scope": "dataset_create"}
    with pytest.raises(errors.Forbidden):
        keyed.mkdir("eodata/raw")
    with pytest.raises(errors.Forbidden):
        keyed.delete("eodata")
    with pytest.raises(errors.Forbidden):
        workspace.as_api_key(key).create_project("KeyProject")
    assert [d.name for d in datasets.list()] == ["eodata"]
    assert not (datasets.root / "newdata").exists()
    assert not (datasets.root / "eodata" / "raw").exists()
    assert [p.name for p in workspace.list_projects()] == ["ExtremeEarth"]


def test_admin_scope_is_needed_for_admin_work_through_a_key(workspace: eolab.Workspace) -> None:
    key, _ = workspace.create_api_key("ci", ["project"])
    with pytest.raises(errors.Forbidden):
        workspace.as_api_key(key).create_user("carol")
    assert [u.name for u in workspace.list_users()] == ["alice"]


def test_key_bound_to_a_project_cannot_reach_another(
    workspace: eolab.Workspace, datasets: DatasetApi
) -> None:
    other = workspace.create_project("Svalbard")
    other.get_dataset_api().create("svdata")
    key, info = workspace.create_api_key("bound", ["dataset_view"], project="ExtremeEarth")
    assert info.project == "ExtremeEarth"
    keyed = workspace.as_api_key(key)

    assert keyed.get_project("ExtremeEarth").get_dataset_api().ls("eodata") == []
    with pytest.raises(errors.Forbidden):
        keyed.get_project("Svalbard")
    with pytest.raises(errors.Forbidden):
        Project(keyed, "Svalbard").get_dataset_api().ls("svdata")
    with pytest.raises(errors.Forbidden):
        keyed.search("svdata", project="Svalbard")
    assert keyed.search("svdata").total == 0
    assert workspace.search("svdata").total == 1  # the full identity still sees it


def test_admin_key_bound_to_a_project_lists_only_that_project(
    workspace: eolab.Workspace, project: Project
) -> None:
    workspace.create_project("Svalbard")
    key, _ = workspace.create_api_key("bound", ["project"], project="ExtremeEarth")
    assert [p.name for p in workspace.as_api_key(key).list_projects()] == ["ExtremeEarth"]


def test_key_for_a_project_needs_membership(workspace: eolab.Workspace, project: Project) -> None:
    bob = workspace.as_user("bob")
    with pytest.raises(errors.Forbidden):
        bob.create_api_key("sneaky", ["dataset_view"], project="ExtremeEarth")
    with pytest.raises(errors.NotFound):
        workspace.create_api_key("ghost", ["dataset_view"], project="Nowhere")
    assert key_names(bob) == []
    assert key_names(workspace) == []


def test_data_owner_lists_and_revokes_keys_bound_to_its_project(
    workspace: eolab.Workspace, project: Project
) -> None:
    bob = workspace.as_user("bob")
    project.add_member("bob")
    bob_key, bob_info = bob.create_api_key("bobs-ci", ["dataset_view"], project="ExtremeEarth")
    bob.create_api_key("bobs-own", ["dataset_view"])  # not bound: not the owner's business
    alice_key, alice_info = workspace.create_api_key("alices", ["dataset_view"])

    listed = workspace.list_api_keys(project="ExtremeEarth")
    assert [(k.name, k.user, k.project) for k in listed] == [("bobs-ci", "bob", "ExtremeEarth")]
    assert key_names(workspace) == ["alices"]  # her own keys only, without project=

    with pytest.raises(errors.Forbidden):
        bob.list_api_keys(project="ExtremeEarth")  # bob is a data_scientist
    with pytest.raises(errors.Forbidden):
        bob.revoke_api_key(alice_info.prefix)
    assert workspace.as_api_key(alice_key).caller.name == "alice"

    assert workspace.revoke_api_key(bob_info.prefix).revoked
    with pytest.raises(errors.Unauthorized):
        workspace.as_api_key(bob_key)


def test_revoking_an_unknown_key_raises_not_found(workspace: eolab.Workspace) -> None:
    key, _ = workspace.create_api_key("ci", ["dataset_view"])
    with pytest.raises(errors.NotFound):
        workspace.revoke_api_key("000000000000")
    assert not workspace.list_api_keys()[0].revoked
    assert workspace.as_api_key(key).caller.name == "alice"
