"""Commands on rule files: check (validate) and test (run each rule's own examples)."""
from __future__ import annotations

from pathlib import Path

import click

from moderation.cli import State, fail, main, pass_state
from moderation.cli.language import _


@main.group()
def rules() -> None:
    """Validate rule files and run their examples."""


def _load(state: State, path: Path | None):  # noqa: ANN202
    from moderation.rules import RuleError, load_ruleset  # noqa: PLC0415

    try:
        return load_ruleset(path or state.config.rules_path)
    except RuleError as exc:
        fail(_("invalid rule set:") + f"\n{exc}", 1)


@rules.command("check")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@pass_state
def check(state: State, path: Path | None) -> None:
    """Validate a rule file or folder: schema, word lists, patterns, thresholds."""
    rs = _load(state, path)
    active = sum(r.rule.status == "active" for r in rs.rules)
    click.echo(f"ok: {rs.spec.site} rule set {rs.version}: {active} active and {len(rs.rules) - active} "
               f"experimental rules, {len(rs.wordlists)} word lists, languages {', '.join(rs.languages)}")


@rules.command("test")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@pass_state
def test(state: State, path: Path | None) -> None:
    """Run every rule's examples (must match / must not match)."""
    rs = _load(state, path)
    count, failures = rs.test_examples()
    for failure in failures:
        click.echo(_("FAIL %(failure)s", failure=failure), err=True)
    if failures:
        fail(_("%(failed)s of %(count)s rule examples failed", failed=len(failures), count=count), 1)
    click.echo(_("ok: %(count)s rule examples pass (%(version)s)", count=count, version=rs.version))


@rules.command("activate")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--message", "-m", default="", help="What changed and why.")
@click.option("--author", default="cli", show_default=True)
@click.option("--force", is_flag=True, help="Activate even though some of the rules' own examples fail.")
@pass_state
def activate(state: State, path: Path, message: str, author: str, force: bool) -> None:
    """Save the rule files at PATH as a new revision and make it live (refused if invalid or examples fail)."""
    from moderation.rules import RuleError, read_files  # noqa: PLC0415
    from moderation.store import revisions  # noqa: PLC0415

    try:
        with state.db.session() as session:
            current = revisions.active(session)
            revision = revisions.save(session, read_files(path), author, message or f"from {path}",
                                      current.id if current else None)
    except RuleError as exc:
        fail(_("invalid rule set, the active rules stay as they are:") + f"\n{exc}", 1)
    _activate(state, revision.id, author, message, force)
    click.echo(_("revision %(id)s (%(version)s) is now active", id=revision.id, version=revision.version))


def _activate(state: State, revision: int, actor: str, note: str, force: bool) -> None:
    from moderation.rules import RuleError  # noqa: PLC0415
    from moderation.store import revisions  # noqa: PLC0415

    try:
        with state.db.session() as session:
            revisions.activate(session, revision, actor, note, force=force)
    except LookupError as exc:
        fail(str(exc))
    except RuleError as exc:
        fail(_("revision %(id)s no longer compiles and stays inactive:", id=revision) + f"\n{exc}", 1)
    except revisions.ExamplesFail as exc:
        listing = "\n".join(f"  {f}" for f in exc.failures)
        fail(_("revision %(id)s is saved but not active: %(num)s rule examples fail:", id=revision,
               num=len(exc.failures)) + f"\n{listing}\n" + _("fix them, or activate anyway with --force"), 1)


@rules.command("history")
@click.option("--limit", default=20, show_default=True)
@pass_state
def history(state: State, limit: int) -> None:
    """Revisions, newest first, with who activated them when."""
    from moderation.store import revisions  # noqa: PLC0415

    with state.db.session() as session:
        live = revisions.active(session)
        for revision, activations in revisions.history(session, limit):
            mark = "*" if live and revision.id == live.id else " "
            when = revision.created_at.strftime("%Y-%m-%d %H:%M")
            click.echo(f"{mark} {revision.id:>4}  {revision.version}  {when}  {revision.author}: {revision.message}")
            for a in activations:
                click.echo(f"        activated {a.created_at:%Y-%m-%d %H:%M} by {a.actor} {a.note}".rstrip())


@rules.command("diff")
@click.argument("revision", type=int)
@click.option("--against", type=int, help="Compare with this revision (default: the one it was edited from).")
@pass_state
def diff(state: State, revision: int, against: int | None) -> None:
    """Show what a revision changed."""
    from moderation.store import revisions  # noqa: PLC0415

    with state.db.session() as session:
        rev = session.get(revisions.RuleRevision, revision)
        if rev is None:
            fail(_("no revision %(id)s", id=revision))
        other = session.get(revisions.RuleRevision, against) if against else None
        click.echo(revisions.diff(session, rev, other) or "(" + _("no changes") + ")")


@rules.command("rollback")
@click.argument("revision", type=int)
@click.option("--actor", default="cli", show_default=True)
@click.option("--force", is_flag=True, help="Activate even though some of the rules' own examples fail.")
@pass_state
def rollback(state: State, revision: int, actor: str, force: bool) -> None:
    """Make an earlier revision live again."""
    _activate(state, revision, actor, "rollback", force)
    click.echo(_("revision %(id)s is now active", id=revision))


@rules.command("export")
@click.argument("revision", type=int)
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@pass_state
def export_revision(state: State, revision: int, out: Path) -> None:
    """Write a revision's files to a folder (for review or version control)."""
    from moderation.store import revisions  # noqa: PLC0415

    with state.db.session() as session:
        rev = session.get(revisions.RuleRevision, revision)
        if rev is None:
            fail(_("no revision %(id)s", id=revision))
        files = revisions.files_of(session, rev)
    for name, text in files.items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    click.echo(_("wrote %(num)s files of revision %(id)s to %(out)s", num=len(files), id=revision, out=out))


@rules.command("stats")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def stats(state: State, as_json: bool) -> None:
    """Per rule: hits, holds, rejections, moderators' confirmations and overturns, precision by week."""
    from moderation.cli import emit  # noqa: PLC0415
    from moderation.store.rulestats import rule_stats  # noqa: PLC0415

    rows = rule_stats(state.db)
    lines = [f"{'rule':<24} {'hits':>6} {'held':>6} {'rej':>5} {'conf':>5} {'over':>5}  precision"]
    for s in rows:
        name = s.rule_id + (" (shadow)" if s.shadow else "")
        lines.append(f"{name:<24} {s.hits:>6} {s.held:>6} {s.rejected:>5} {s.confirmed:>5} {s.overturned:>5}  "
                     f"{s.precision if s.precision is not None else '-'}")
    emit([s.to_dict() for s in rows], as_json, "\n".join(lines))


@rules.command("calibrate")
@click.option("--target-precision", default=0.9, show_default=True, type=click.FloatRange(0, 1))
@click.option("--level", default="hold", show_default=True, help="Which threshold level the suggestion is for.")
@click.option("--min-support", default=20, show_default=True)
@click.option("--save", is_flag=True, help="Save the suggested thresholds as a new (inactive) revision.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def calibrate(state: State, target_precision: float, level: str, min_support: int, save: bool,
              as_json: bool) -> None:
    """Per label, the lowest threshold at which moderators' decisions show the target precision."""
    from moderation.learning.calibration import from_decisions  # noqa: PLC0415
    from moderation.cli import emit  # noqa: PLC0415

    suggestions = from_decisions(state.db, target_precision, min_support)
    lines = [f"{'label':<18} {'threshold':>9} {'precision':>9} {'recall':>7} {'flagged':>8} {'rejected':>8} {'decided':>8}"]
    for s in suggestions:
        lines.append(f"{s.label:<18} {s.threshold if s.threshold is not None else '-':>9} "
                     f"{s.precision if s.precision is not None else '-':>9} {s.recall if s.recall is not None else '-':>7} "
                     f"{s.flagged:>8} {s.positives:>8} {s.decided:>8}")
    if save:
        revision = _save_thresholds(state, {s.label: s.threshold for s in suggestions if s.threshold is not None},
                                    level, f"thresholds for precision {target_precision} from moderators' decisions")
        lines.append(f"saved as revision {revision} (not active; try `moderation whatif` first)")
    emit([s.to_dict() for s in suggestions], as_json, "\n".join(lines))


def _save_thresholds(state: State, thresholds: dict[str, float], level: str, message: str) -> int:
    from moderation.rules.edits import set_threshold  # noqa: PLC0415
    from moderation.rules.loader import is_rule_file  # noqa: PLC0415
    from moderation.store import revisions  # noqa: PLC0415

    state.ruleset()  # the first revision exists from here on
    with state.db.session() as session:
        live = revisions.active(session)
        files = revisions.files_of(session, live)
        name = next(n for n in sorted(files) if is_rule_file(n) and "\npolicy:" in "\n" + files[n])
        text = files[name]
        for label, value in thresholds.items():
            text = set_threshold(text, label, level, value)
        return revisions.save(session, {**files, name: text}, "calibration", message, live.id).id
