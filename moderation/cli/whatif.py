"""`moderation whatif`: replay a draft rule set over stored comments before it goes live."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click

from moderation.cli import State, emit, fail, main, pass_state


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    when = datetime.fromisoformat(value)
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


@main.command()
@click.argument("rules_path", type=click.Path(exists=True, path_type=Path))
@click.option("--since", help="Only comments created at or after this time (ISO 8601).")
@click.option("--until", help="Only comments created before this time (ISO 8601).")
@click.option("--changes", "show", default=20, show_default=True, help="How many changed comments to list.")
@click.option("--workers", default=1, show_default=True, help="Processes replaying in parallel.")
@click.option("--model", "model_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Judge with this model file instead of the configured one (its texts scored again).")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def whatif(state: State, rules_path: Path, since: str | None, until: str | None, show: int, workers: int,
           model_path: Path | None, as_json: bool) -> None:
    """What a draft rule set (and model) would have decided, against the active one and the moderators."""
    from moderation.assess.pipeline import Pipeline  # noqa: PLC0415
    from moderation.rules import RuleError, load_ruleset  # noqa: PLC0415
    from moderation.services.whatif import replay, with_model  # noqa: PLC0415

    try:
        rules = load_ruleset(rules_path)
    except RuleError as exc:
        fail(f"the draft rule set is invalid:\n{exc}", 1)
    active = Pipeline.from_config(state.config, state.ruleset(), state.stored())
    draft = Pipeline.from_config(state.config, rules, state.stored())  # as `moderation --rules DRAFT explain` would judge
    if model_path is not None:
        try:
            from moderation.scoring.sklearn import SklearnScorer  # noqa: PLC0415

            draft = with_model(draft, SklearnScorer.from_file(model_path))
        except (OSError, ValueError, KeyError) as exc:
            fail(f"cannot load model {model_path}: {exc}")
    result = replay(state.db, draft, active, since=_when(since), until=_when(until), workers=workers)
    data = result.to_dict(with_changes=show)
    lines = [f"replayed {data['compared']} comments in {data['seconds']} s: draft {data['draft']} vs active "
             f"{data['active']}", f"changed: {data['changed']}  " +
             "  ".join(f"{k} {v}" for k, v in data["changes"].items())]
    for side in ("active", "draft"):
        a = data["agreement"][side]
        lines.append(f"{side:>6} vs moderators ({a['decided']} decided): precision {a['precision']}, "
                     f"recall {a['recall']}, F1 {a['f1']}")
    for rule, stats in data["rules"].items():
        d, a = stats["draft"], stats["active"]
        lines.append(f"  {rule:<24} hits {sum(stats['hits'].values()):>5}  precision {a['precision']} -> "
                     f"{d['precision']}  recall {a['recall']} -> {d['recall']}")
    for change in data["changed_comments"]:
        lines.append(f"  comment {change['comment_id']}: {change['before']} -> {change['after']}"
                     f" (moderators: {change['human'] or 'undecided'})")
    emit(data, as_json, "\n".join(lines))
