"""The ``eolab`` command: a thin face over the SDK (DESIGN: one core, three faces)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from eolab.errors import EolabError
from eolab.workspace import Workspace

F = TypeVar("F", bound=Callable[..., Any])


def _friendly_errors(fn: F) -> F:
    """Expected errors print one readable line and exit 2, never a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EolabError as exc:
            click.echo(f"error ({exc.code}): {exc.message}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def _ws(ctx: click.Context) -> Workspace:
    return Workspace.open(ctx.obj["home"], user=ctx.obj["user"])


def _project_name(ctx: click.Context, project: str | None) -> str:
    name = project or os.environ.get("EOLAB_PROJECT")
    if not name:
        raise click.UsageError("name the project with --project/-p or EOLAB_PROJECT")
    return name


def _json_arg(text: str, what: str) -> Any:
    if text.startswith("@"):
        text = Path(text[1:]).read_text()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"{what} is not valid JSON: {exc}") from exc


def _table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    if not rows:
        click.echo("(none)")
        return
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    click.echo("  ".join(c.ljust(widths[c]) for c in columns))
    for r in rows:
        click.echo("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns))


project_option = click.option("--project", "-p", help="project name (default: EOLAB_PROJECT)")


@click.group()
@click.option(
    "--home", type=click.Path(path_type=Path), help="workspace (default: EOLAB_HOME or ~/.eolab)"
)
@click.option("--user", help="act as this user (default: the Jupyter or OS user)")
@click.pass_context
def main(ctx: click.Context, home: Path | None, user: str | None) -> None:
    """eolab: Earth-observation deep learning, the Hopsworks way, in JupyterLab."""
    ctx.obj = {"home": home, "user": user}


@main.command()
@click.pass_context
@_friendly_errors
def init(ctx: click.Context) -> None:
    """Create the workspace; its first user becomes admin."""
    ws = _ws(ctx)
    me = ws.whoami()
    click.echo(f"workspace {ws.home} ready; you are {me.name}{' (admin)' if me.is_admin else ''}")


# ---- projects -------------------------------------------------------------------------------


@main.group()
def project() -> None:
    """Projects and members."""


@project.command("create")
@click.argument("name")
@click.option("--description", default="")
@click.pass_context
@_friendly_errors
def project_create(ctx: click.Context, name: str, description: str) -> None:
    _ws(ctx).create_project(name, description)
    click.echo(f"project {name} created")


@project.command("list")
@click.pass_context
@_friendly_errors
def project_list(ctx: click.Context) -> None:
    infos = _ws(ctx).list_projects()
    _table(
        [
            {"name": i.name, "role": i.role or "", "owner": i.owner, "members": len(i.members)}
            for i in infos
        ],
        ["name", "role", "owner", "members"],
    )


@project.command("add-member")
@click.argument("project_name")
@click.argument("user")
@click.option(
    "--role", type=click.Choice(["data_owner", "data_scientist"]), default="data_scientist"
)
@click.pass_context
@_friendly_errors
def project_add_member(ctx: click.Context, project_name: str, user: str, role: str) -> None:
    member = _ws(ctx).get_project(project_name).add_member(user, role)
    click.echo(f"{member.user} is {member.role} of {project_name}")


@project.command("delete")
@click.argument("name")
@click.option("--confirm", help="repeat the project's name to confirm")
@click.pass_context
@_friendly_errors
def project_delete(ctx: click.Context, name: str, confirm: str | None) -> None:
    if confirm is None:
        confirm = click.prompt(f"type {name} to delete it with all its data", default="")
    _ws(ctx).delete_project(name, confirm)
    click.echo(f"project {name} deleted")


@main.command("user-create")
@click.argument("name")
@click.option("--email", default="")
@click.option("--admin", is_flag=True)
@click.pass_context
@_friendly_errors
def user_create(ctx: click.Context, name: str, email: str, admin: bool) -> None:
    """Create a user (admin only)."""
    _ws(ctx).create_user(name, email, admin)
    click.echo(f"user {name} created")


# ---- datasets -------------------------------------------------------------------------------


@main.group()
def dataset() -> None:
    """Datasets and their files."""


def _datasets(ctx: click.Context, project: str | None):  # type: ignore[no-untyped-def]
    return _ws(ctx).get_project(_project_name(ctx, project)).get_dataset_api()


@dataset.command("create")
@click.argument("name")
@project_option
@click.option("--description", default="")
@click.option("--searchable/--not-searchable", default=True)
@click.pass_context
@_friendly_errors
def dataset_create(
    ctx: click.Context, name: str, project: str | None, description: str, searchable: bool
) -> None:
    _datasets(ctx, project).create(name, description, searchable)
    click.echo(f"dataset {name} created")


@dataset.command("upload")
@click.argument("local", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("dest")
@project_option
@click.option("--overwrite", is_flag=True)
@click.pass_context
@_friendly_errors
def dataset_upload(
    ctx: click.Context, local: Path, dest: str, project: str | None, overwrite: bool
) -> None:
    """Upload LOCAL into DEST (dataset/folder or dataset/folder/name); resumable."""
    info = _datasets(ctx, project).upload(local, dest, overwrite=overwrite)
    click.echo(f"uploaded {info.path} ({info.size} bytes)")


@dataset.command("ls")
@click.argument("path")
@project_option
@click.pass_context
@_friendly_errors
def dataset_ls(ctx: click.Context, path: str, project: str | None) -> None:
    entries = _datasets(ctx, project).ls(path)
    _table(
        [
            {
                "name": e.name + ("/" if e.is_dir else ""),
                "size": e.size,
                "modified": f"{e.modified:%Y-%m-%d %H:%M}",
            }
            for e in entries
        ],
        ["name", "size", "modified"],
    )


@dataset.command("download")
@click.argument("path")
@click.argument("local", required=False, type=click.Path(path_type=Path))
@project_option
@click.option("--overwrite", is_flag=True)
@click.pass_context
@_friendly_errors
def dataset_download(
    ctx: click.Context, path: str, local: Path | None, project: str | None, overwrite: bool
) -> None:
    dest = _datasets(ctx, project).download(path, local, overwrite)
    click.echo(f"downloaded {path} to {dest}")


# ---- tags -----------------------------------------------------------------------------------


@main.group("tag-schema")
def tag_schema() -> None:
    """Tag schemas (JSON Schema, admin only)."""


@tag_schema.command("create")
@click.argument("name")
@click.argument("schema")
@click.option("--description", default="")
@click.pass_context
@_friendly_errors
def tag_schema_create(ctx: click.Context, name: str, schema: str, description: str) -> None:
    """SCHEMA is JSON text or @file.json."""
    _ws(ctx).create_tag_schema(name, _json_arg(schema, "SCHEMA"), description)
    click.echo(f"tag schema {name} created")


@main.group()
def tag() -> None:
    """Tags on datasets and files."""


@tag.command("add")
@click.argument("path")
@click.argument("schema")
@click.argument("value")
@project_option
@click.pass_context
@_friendly_errors
def tag_add(ctx: click.Context, path: str, schema: str, value: str, project: str | None) -> None:
    """Tag PATH (dataset or file) with VALUE (JSON or @file.json) of tag schema SCHEMA."""
    _datasets(ctx, project).add_tag(path, schema, _json_arg(value, "VALUE"))
    click.echo(f"tagged {path} with {schema}")


# ---- search, keys -------------------------------------------------------------------------


@main.command()
@click.argument("term")
@click.option(
    "--scope",
    type=click.Choice(["everything", "projects", "datasets", "featurestore"]),
    default="everything",
)
@project_option
@click.option("--limit", default=20)
@click.pass_context
@_friendly_errors
def search(ctx: click.Context, term: str, scope: str, project: str | None, limit: int) -> None:
    """Free-text search over what you may see."""
    result = _ws(ctx).search(term, scope, project, limit)
    click.echo(f"{result.total} hit(s)")
    _table(
        [
            {"kind": h.kind, "project": h.project, "name": h.name, "where": h.description[:60]}
            for h in result.hits
        ],
        ["kind", "project", "name", "where"],
    )


@main.group()
def apikey() -> None:
    """API keys for REST callers outside Jupyter."""


@apikey.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True, help="repeat for several scopes")
@click.option("--expires-in-days", type=float)
@project_option
@click.pass_context
@_friendly_errors
def apikey_create(
    ctx: click.Context,
    name: str,
    scopes: tuple[str, ...],
    expires_in_days: float | None,
    project: str | None,
) -> None:
    secret, info = _ws(ctx).create_api_key(name, list(scopes), expires_in_days, project)
    click.echo(secret)
    click.echo(f"(key {info.prefix}; shown once, stored hashed)", err=True)


@apikey.command("list")
@project_option
@click.pass_context
@_friendly_errors
def apikey_list(ctx: click.Context, project: str | None) -> None:
    keys = _ws(ctx).list_api_keys(project)
    _table(
        [
            {
                "prefix": k.prefix,
                "name": k.name,
                "user": k.user,
                "scopes": ",".join(k.scopes),
                "revoked": k.revoked,
            }
            for k in keys
        ],
        ["prefix", "name", "user", "scopes", "revoked"],
    )


@apikey.command("revoke")
@click.argument("prefix")
@click.pass_context
@_friendly_errors
def apikey_revoke(ctx: click.Context, prefix: str) -> None:
    _ws(ctx).revoke_api_key(prefix)
    click.echo(f"API key {prefix} revoked")


# ---- servers, demo, lab ---------------------------------------------------------------------


@main.command()
@click.option("--port", default=8765, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.pass_context
@_friendly_errors
def server(ctx: click.Context, port: int, host: str) -> None:
    """Serve the REST API without Jupyter (API-key auth)."""
    from eolab.server.app import serve

    serve(port, host, _ws(ctx))


@main.command()
@click.option("--quick", "size", flag_value="quick", help="tiny sizes (tests, about a minute)")
@click.option("--full", "size", flag_value="full", help="the full sizes (hours)")
@click.option(
    "--home",
    "demo_home",
    type=click.Path(path_type=Path),
    default=Path(".eolab-demo"),
    show_default=True,
)
@click.option("--until", default=None, help="the last stage to run (default: every stage)")
@_friendly_errors
def demo(size: str | None, demo_home: Path, until: str | None) -> None:
    """Run the end-to-end demonstrator in a fresh demo workspace."""
    from eolab.demo import run_demo

    run_demo(demo_home, size or "default", until=until)


@main.command()
@click.option("--home", "lab_home", type=click.Path(path_type=Path), help="workspace to open")
@click.option("--port", default=8888)
def lab(lab_home: Path | None, port: int) -> None:
    """Open JupyterLab on a workspace."""
    env = dict(os.environ)
    if lab_home:
        env["EOLAB_HOME"] = str(lab_home.resolve())
    args = [sys.executable, "-m", "jupyterlab", f"--port={port}", "--no-browser"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    os.execve(sys.executable, args, env)


if __name__ == "__main__":
    main()
