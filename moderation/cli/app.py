"""Commands that run the desk: serve the web app, and the demo."""
from __future__ import annotations

import ipaddress
from pathlib import Path

import click

from moderation.cli import State, main, pass_state


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@pass_state
def serve(state: State, host: str, port: int) -> None:
    """Serve the web app (review queue, threads, admin, research, API)."""
    from web import create_app  # noqa: PLC0415

    app = create_app(state.config)
    if _loopback(host):  # plain HTTP that only this machine reaches: a Secure cookie would never come back
        app.config.update(SESSION_COOKIE_SECURE=False, REMEMBER_COOKIE_SECURE=False)
    app.run(host=host, port=port)


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@main.command()
@click.option("--samples", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=Path(__file__).resolve().parents[2] / "samples", show_default=True)
@click.option("--no-serve", is_flag=True, help="Import and triage only.")
@click.option("--port", default=5000, show_default=True)
@click.pass_context
def demo(ctx: click.Context, samples: Path, no_serve: bool, port: int) -> None:
    """Fresh SQLite database, the samples imported and triaged, then the web app served."""
    from moderation.cli.comments import format_summary  # noqa: PLC0415
    from moderation.importers import parse_batches  # noqa: PLC0415
    from moderation.assess.pipeline import Pipeline  # noqa: PLC0415
    from moderation.services.jobs import triage_stored  # noqa: PLC0415
    from moderation.store.loading import load_batch  # noqa: PLC0415

    state: State = ctx.obj
    db_path = state.config.instance_path / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    state.config = state.config.model_copy(update={"database_url": f"sqlite:///{db_path}"})
    state._db = None  # opened anew on the demo database
    for path in sorted(samples.glob("*.jsonl")):
        with state.db.session() as session:
            for batch in parse_batches(path):
                report = load_batch(session, batch)
                click.echo(f"imported {path.name}: {report.comments} comments in {report.articles} article(s), "
                           f"{report.replies} replies")
    pipeline = Pipeline.from_config(state.config, state.ruleset(), state.stored())
    click.echo(format_summary(triage_stored(state.db, pipeline)))
    click.echo(demo_accounts(state))
    if not no_serve:
        ctx.invoke(serve, host="127.0.0.1", port=port)


DEMO_ACCOUNTS = (("demo-moderator", "moderator"), ("demo-admin", "admin"), ("demo-researcher", "researcher"))


def demo_accounts(state: State) -> str:
    """Create the demo's accounts with fresh random passwords; returns the lines to print."""
    import secrets  # noqa: PLC0415

    from moderation.store.accounts import add_user  # noqa: PLC0415

    lines = ["demo accounts (log in at /login):"]
    with state.db.session() as session:
        for name, role in DEMO_ACCOUNTS:
            password = secrets.token_urlsafe(9)
            add_user(session, name, password, role)
            lines.append(f"  {role:<10} {name}  password {password}")
    return "\n".join(lines)
