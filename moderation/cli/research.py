"""`moderation research`: refresh the research and model pages' figures; the per-comment download and its dictionary."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from moderation.cli import State, emit, fail, main, pass_state


@main.group()
def research() -> None:
    """The research page's stored figures and the per-comment research table."""


@research.command()
@click.option("--force", is_flag=True, help="Recompute even when nothing changed since the last refresh.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def refresh(state: State, force: bool, as_json: bool) -> None:
    """Recompute the research and model pages' figures now (the workers do it after changes and every 5 minutes)."""
    from moderation.research import MissingExtra  # noqa: PLC0415
    from moderation.research.aggregates import refresh as run  # noqa: PLC0415
    from moderation.research.pseudonyms import for_config  # noqa: PLC0415

    try:
        summary = run(state.db, for_config(state.config), force=force)
    except MissingExtra as exc:
        fail(str(exc))
    text = (f"refreshed {len(summary['keys'])} aggregates in {summary['seconds']} s" if summary["refreshed"]
            else "aggregates are up to date; nothing computed (--force recomputes)")
    emit(summary, as_json, text)


@research.command("export")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV file to write ('-' for standard output).")
@click.option("--text", "mode", default="pseudonymised", show_default=True,
              type=click.Choice(["full", "pseudonymised", "none"]), help="How the comment text is included.")
@pass_state
def export(state: State, out: Path, mode: str) -> None:
    """One row per stored comment: scores per label, sentiment, language, versions, decisions, time to decision."""
    from moderation.research import MissingExtra  # noqa: PLC0415
    from moderation.research.commenttable import csv_chunks, dictionary_csv, rows  # noqa: PLC0415
    from moderation.research.pseudonyms import for_config  # noqa: PLC0415

    try:
        chunks = csv_chunks(rows(state.db, for_config(state.config), text=mode))
        if str(out) == "-":
            for chunk in chunks:
                sys.stdout.write(chunk)
            return
        with out.open("w", encoding="utf-8", newline="") as fh:
            for chunk in chunks:
                fh.write(chunk)
    except MissingExtra as exc:
        fail(str(exc))
    dictionary = out.with_name(out.stem + "-dictionary.csv")
    dictionary.write_text(dictionary_csv(), encoding="utf-8")
    click.echo(f"wrote {out} and its data dictionary {dictionary}")


def after_change(state: State) -> None:
    """After an import or a triage: the workers refresh the pages' figures (without a broker, the page asks)."""
    if state.config.broker_url:
        from moderation.worker import tasks  # noqa: PLC0415

        state.db  # noqa: B018 - configures the tasks for this desk's broker and database
        tasks.request_refresh()
