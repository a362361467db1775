"""Commands on comments: import, triage, explain, export."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from moderation.cli import COMMENT_TEXT, State, emit, fail, main, pass_state
from moderation.cli.language import _
from moderation.cli.research import after_change


@main.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", default="auto", type=click.Choice(["auto", "jsonl", "csv", "wxr", "disqus"]))
@click.option("--source", help="Source name for ids (default: from the file, or 'default').")
@click.option("--json", "as_json", is_flag=True, help="Print counts as JSON.")
@pass_state
def import_(state: State, path: Path, fmt: str, source: str | None, as_json: bool) -> None:
    """Import comments with their threads; idempotent; a malformed file writes nothing."""
    from moderation.importers import ImportFormatError, parse_batches  # noqa: PLC0415
    from moderation.store.loading import ImportConflict, ImportReport, load_batch  # noqa: PLC0415

    total = ImportReport()
    try:
        batches = parse_batches(path, fmt, source)
        with state.db.session() as session:  # every source of the file, or nothing
            for batch in batches:
                total.add(load_batch(session, batch))
    except (ImportFormatError, ImportConflict) as exc:
        fail(_("%(problem)s\nnothing was imported", problem=exc))
    data = total.to_dict()
    after_change(state)
    sources = ", ".join(b.source for b in batches)
    notices = [notice for batch in batches for notice in batch.notices]
    emit({**data, "notices": notices}, as_json,
         "\n".join([_("imported %(path)s (%(sources)s): ", path=path, sources=sources)
                    + ", ".join(f"{k} {v}" for k, v in data.items()), *notices]))


@main.command()
@click.option("--rescore", is_flag=True, help="Assess every stored comment again, not only new ones.")
@click.option("--batch-size", default=500, show_default=True)
@click.option("--workers", default=1, show_default=True, help="Processes assessing in parallel.")
@click.option("--queue", is_flag=True, help="Hand the batches to the Celery workers, with their fast and deep "
                                            "scorers (inline when no broker is configured).")
@click.option("--deep", is_flag=True, help="Catch up on deep scores (MODERATION_DEEP_SCORERS) that comments "
                                           "missed; verdicts already sent stay.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def triage(state: State, rescore: bool, batch_size: int, workers: int, queue: bool, deep: bool,
           as_json: bool) -> None:
    """Score and triage stored comments not yet triaged."""
    from moderation.assess.pipeline import Pipeline  # noqa: PLC0415
    from moderation.services.jobs import triage_stored  # noqa: PLC0415

    if deep:
        _deep_catch_up(state, as_json)
        return
    if queue:
        if state.explicit_rules:
            fail(_("--queue runs the workers' rules, the active revision; activate these first "
                   "(moderation rules activate PATH) or drop --queue"))
        from moderation.worker import tasks  # noqa: PLC0415

        tasks.configure(state.config, db=lambda: state.db)
        summary = tasks.triage_queued(state.db, rescore=rescore, batch_size=batch_size)
        after_change(state)
        emit(summary, as_json, format_summary(summary))
        return
    pipeline = Pipeline.from_config(state.config, state.ruleset(), state.stored())
    for problem in pipeline.load_problems:
        click.echo(_("warning: %(problem)s", problem=problem), err=True)
    summary = triage_stored(state.db, pipeline, rescore=rescore, batch_size=batch_size, workers=workers)
    after_change(state)
    emit(summary, as_json, format_summary(summary))


def _deep_catch_up(state: State, as_json: bool) -> None:
    from moderation.services.jobs import catch_up  # noqa: PLC0415
    from moderation.assess.pipeline import Pipeline  # noqa: PLC0415

    config = state.config
    if not config.deep_scorers:
        fail(_("no deep scorers configured (set MODERATION_DEEP_SCORERS, e.g. detoxify)"))
    scorers = tuple(dict.fromkeys(config.scorers + config.deep_scorers))
    pipeline = Pipeline.from_config(config.model_copy(update={"scorers": scorers}), state.ruleset(), state.stored(config))
    if pipeline.load_problems:
        fail("; ".join(pipeline.load_problems), 1)
    result = catch_up(state.db, pipeline, config.deep_scorers)
    emit(result, as_json, _("deep-scored %(num)s comments (%(changed)s changed), %(incomplete)s incomplete",
                            num=result["deep_scored"], changed=result["changed"], incomplete=result["incomplete"])
         + "".join(f"\n  {e}" for e in result["errors"]))
    if result["incomplete"]:
        sys.exit(1)


def format_summary(s: dict) -> str:
    scorers = ", ".join(f"{k} {v}" for k, v in s["scorers"].items()) or _("none")
    lines = [_("triaged %(num)s comments with rule set %(ruleset)s and scorers %(scorers)s", num=s["triaged"],
               ruleset=s["ruleset_version"], scorers=scorers),
             _("  approve %(approve)s   hold %(hold)s   reject %(reject)s   (human decision kept: %(kept)s, "
               "published but flagged: %(flagged)s)", approve=s["approve"], hold=s["hold"], reject=s["reject"],
               kept=s["kept_human_decision"], flagged=s["flagged"])]
    if s["with_failures"]:
        lines.append(_("  %(num)s held because some evidence could not be computed", num=s["with_failures"]))
    return "\n".join(lines)


@main.command()
@click.argument("text", type=COMMENT_TEXT)
@click.option("--lang", help="Language code; detected when omitted.")
@click.option("--reply-to", type=COMMENT_TEXT, help="Text of the comment this one answers.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def explain(state: State, text: str, lang: str | None, reply_to: str | None, as_json: bool) -> None:
    """The decision for one text, with every hit: rule, stated rule, spans, score, threshold."""
    from moderation.assess.pipeline import Item, Pipeline  # noqa: PLC0415
    from moderation.cli.language import explained  # noqa: PLC0415

    pipeline = Pipeline.from_config(state.config, state.ruleset(), state.stored())
    a = pipeline.assess_one(Item(text, language=lang, is_reply=reply_to is not None, parent_text=reply_to))
    lines = [f"{a.decision.value.upper()} (priority {a.priority}, language {a.language.language} "
             f"[{a.language.method}], rule set {a.ruleset_version})",
             explained(a.evidence.get("because"), a.explanation)]
    for hit in a.hits + a.shadow_hits:
        shadow = " [experimental: recorded only]" if hit.experimental else ""
        threshold = f", threshold {hit.threshold:.2f}" if hit.threshold is not None else ""
        lines.append(f"- {hit.rule_id} ({hit.action}){shadow}: «{hit.stated_rule}» score {hit.score:.2f}{threshold}")
        lines += [f"    {sp.start}-{sp.end} “{sp.text}” ({sp.label})" for sp in hit.spans if sp.text]
    for name, version in a.scorer_versions.items():
        top = sorted((a.scores.get(name) or {}).items(), key=lambda kv: -kv[1])[:3]
        lines.append(f"scorer {name} {version}: " + ", ".join(f"{k} {v:.2f}" for k, v in top))
    lines += [f"! {f}" for f in a.failures]
    emit(a.to_dict(), as_json, "\n".join(lines))


@main.command()
@click.option("--format", "fmt", default="jsonl", type=click.Choice(["jsonl", "csv", "parquet", "convokit"]),
              show_default=True)
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="File (jsonl, csv, parquet) or folder (convokit).")
@click.option("--pseudonymize", is_flag=True, help="Replace author names by keyed-hash pseudonyms.")
@pass_state
def export(state: State, fmt: str, out: Path, pseudonymize: bool) -> None:
    """Export stored comments: JSONL in the import schema (re-importing it changes nothing), or CSV, Parquet or a
    ConvoKit corpus with every score, rule hit and decision and their versions."""
    from moderation.research import MissingExtra  # noqa: PLC0415
    from moderation.research.exportformats import export_as  # noqa: PLC0415

    try:
        click.echo(export_as(state.db, state.config, fmt, out, pseudonymize))
    except MissingExtra as exc:
        fail(str(exc))
