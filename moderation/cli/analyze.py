"""`moderation analyze`: the research report (HTML + CSV) from a file or the stored comments."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from moderation.cli import State, fail, main, pass_state


@main.command()
@click.argument("inputs", metavar="[INPUT]...", nargs=-1,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for index.html and the CSV tables.")
@click.option("--pseudonymize", is_flag=True, help="Replace author names by keyed-hash pseudonyms.")
@click.option("--no-triage", is_flag=True, help="Input files: skip scoring toxicity and rule hits (faster).")
@click.option("--workers", default=1, show_default=True, help="Processes scoring texts in parallel.")
@click.option("--topics", "topics_k", default=8, show_default=True, help="Number of topics.")
@click.option("--title", default="Discourse analysis", show_default=True)
@pass_state
def analyze(state: State, inputs: tuple[Path, ...], out: Path, pseudonymize: bool, no_triage: bool, workers: int,
            topics_k: int, title: str) -> None:
    """Sentiment, thread dynamics, escalation, reply network, moderation and topics, as a report.

    INPUT is one or more import files (JSONL, CSV, WXR, Disqus) or the One Million Posts CSV (.csv or .csv.xz);
    without it, the stored comments are analysed with their stored scores, rule hits and decisions.
    """
    from moderation.research.frame import from_records, triage_records  # noqa: PLC0415
    from moderation.research.frame import pseudonymize as apply_pseudonyms  # noqa: PLC0415
    from moderation.research.pseudonyms import for_config  # noqa: PLC0415
    from moderation.research.report import write_report  # noqa: PLC0415
    from moderation.research.results import STEPS, compute  # noqa: PLC0415
    from moderation.research.sources import file_records, load_db  # noqa: PLC0415
    from moderation.importers import ImportFormatError  # noqa: PLC0415
    from moderation.research import MissingExtra  # noqa: PLC0415

    if not inputs:
        frame = load_db(state.db)
    else:
        records, provenance, seen = [], {}, {}
        for path in inputs:
            try:
                more, provenance = file_records(path)
            except (ImportFormatError, ValueError) as exc:
                fail(f"{exc}\nnothing was written")
            for r in more:
                if seen.setdefault(r["id"], path) != path:
                    fail(f"{path}: comment id {r['id']!r} is also in {seen[r['id']]}; analyse the files separately"
                         "\nnothing was written")
            records += more
        provenance["input"] = ", ".join(str(p) for p in inputs)
        from moderation.assess.pipeline import Pipeline  # noqa: PLC0415

        pipeline = Pipeline.from_config(state.config, state.ruleset(), state.stored())
        if no_triage:  # languages are still needed: sentiment is per language
            for r in records:
                r["language"] = r.get("language") or pipeline.detector.detect(r["text"]).language
        else:
            with click.progressbar(length=len(records), label="scoring", file=sys.stderr,
                                   show_pos=True) as bar:
                triage_records(records, pipeline, bar.update, workers=workers)
            provenance.update(scorers=pipeline.scorer_versions, ruleset_version=pipeline.ruleset.version)
        frame = from_records(records, provenance)
    if not len(frame):
        fail("there are no comments to analyse; nothing was written")
    if pseudonymize:
        apply_pseudonyms(frame, for_config(state.config))
    with click.progressbar(length=len(STEPS), label="analysing", file=sys.stderr,
                           item_show_func=lambda s: s) as bar:
        def step(name: str) -> None:
            bar.update(1, name)

        try:
            results = compute(frame, topics_k, step, workers)
            path = write_report(results, out, title)
        except MissingExtra as exc:
            fail(f"{exc}\nnothing was written")
    click.echo(f"analysed {len(frame):,} comments: report {path}, tables in {out}")
