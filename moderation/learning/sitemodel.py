"""A site's own model: trained from labelled files and moderator decisions, compared with the active one, activated."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from sqlalchemy import case, func, select

from moderation.learning import training as learning
from moderation.learning.registry import active_scorer, version_scorer
from moderation.scoring.estimator import load_model
from moderation.scoring.sklearn import PACKAGE_MODEL, lexicon_from_ruleset, model_bytes, save_model
from moderation.store import Comment
from moderation.store import models_registry as registry

if TYPE_CHECKING:
    from moderation.config import Config
    from moderation.rules import RuleSet
    from moderation.scoring.estimator import ToxicityClassifier
    from moderation.store import Database

MIN_TRAINING = 20  # decided comments needed before a site model is worth training
MIN_HELDOUT = 10


class SiteModelError(RuntimeError):
    """Why a model cannot be trained, compared or activated; the message says what to do."""


def decision_counts(db: "Database") -> tuple[int, int]:
    """Decided comments a site model would train on, and those held out to compare it (as from_decisions splits)."""
    held = case((Comment.id % learning.HELDOUT_BUCKETS == 0, 1), else_=0)
    query = select(func.count(), func.coalesce(func.sum(held), 0)).where(*learning.decided_comments())
    with db.session() as session:
        total, heldout = session.execute(query).one()
    return total - heldout, heldout


def shipped_prior() -> tuple["ToxicityClassifier | None", str]:
    """The shipped model as a site model's prior, and its version (None and why, when it cannot be loaded)."""
    try:
        model, card = load_model(PACKAGE_MODEL)
    except (OSError, ValueError) as exc:
        return None, f"the shipped model could not be loaded ({exc})"
    return model, str(card.get("version", PACKAGE_MODEL.name))


def train(db: "Database", config: "Config", ruleset: "RuleSet", *, data_files: Sequence[Path] = (),
          from_decisions: bool = False, out: Path | None = None, name: str = "site",
          target_precision: float = 0.8, actor: str = "system", prior: bool = True) -> dict:
    """Train on the files and/or the decisions; stored in the registry as the next version (not active), or
    written to `out` and not registered.

    With `prior`, the shipped model's score is one more feature of the site's model (weighed by the site's
    decisions) and the shipped model lends its word lists; without it, or when it cannot be loaded, the site's
    data alone with the rule set's word lists.

    Raises learning.DataError for unreadable files, SiteModelError when there is too little to learn from.
    """
    parts = [learning.read_labelled(p) for p in data_files]
    if from_decisions:
        decided = learning.from_decisions(db, heldout=False)
        if len(decided) < MIN_TRAINING:
            raise SiteModelError(f"only {len(decided)} decided comments for training (need at least {MIN_TRAINING})")
        parts.append(decided)
    if not parts:
        raise SiteModelError("nothing to train on: give labelled files or use the moderators' decisions")
    data = learning.Dataset.concat(parts)
    base, base_version = shipped_prior() if prior else (None, "not asked for")
    try:
        model, report = learning.train(data, lexicon=lexicon_from_ruleset(ruleset), target_precision=target_precision,
                                       prior=base)
    except learning.DataError:
        raise
    except ValueError as exc:  # e.g. too few examples of a class to hold some out
        raise SiteModelError(f"cannot train on these {len(data)} rows: {exc}") from exc
    sources = [{"name": p.name, "licence": "supplied by the site"} for p in data_files]
    if from_decisions:
        sources.append({"name": "moderator decisions", "licence": "the site's own data"})
    registered = out is None
    if registered:
        with db.session() as session:
            version = registry.next_version(session, name)
    else:
        version = f"{name}-{out.stem}"
    prior_card = ({"model": base_version, "weights": report["prior_weights"]} if base is not None
               else {"model": None, "why": base_version})
    card = learning.make_card(name, version, report, data, sources, extra={"prior": prior_card})
    if registered:
        with db.session() as session:
            sha = registry.add(session, name, version, model_bytes(model, card), card, actor).sha256
    else:
        sha = save_model(model, out, card)
    return {"version": version, "path": str(out) if out else None, "sha256": sha, "rows": len(data),
            "skipped_empty": data.skipped_empty, "heldout": report["heldout"], "threshold": report["threshold"],
            "registered": registered, "prior": prior_card}


def retrain(db: "Database", config: "Config", ruleset: "RuleSet", *, data_files: Sequence[Path] = (),
            name: str = "site", target_precision: float = 0.8, actor: str = "system", prior: bool = True) -> dict:
    """Train on the decisions (and files), compare on the held-out decisions, activate only if it beats the active.

    "Beats": a higher official F1 and no lower ROC-AUC than the active model (or none active and none shipped).
    """
    result = train(db, config, ruleset, data_files=data_files, from_decisions=True, name=name,
                   target_precision=target_precision, actor=actor, prior=prior)
    comparison = compare(db, config, result["version"])
    result.update(comparison=comparison, activated=False)
    if comparison["candidate_beats"]:
        activate(db, result["version"], actor)
        result["activated"] = True
    return result


def compare(db: "Database", config: "Config", version: str, data_file: Path | None = None,
            threshold: float | None = None) -> dict:
    """Candidate vs the active model on held-out decisions (never trained on), or on a file; kept in the registry."""
    with db.session() as session:
        if registry.get(session, version) is None:
            raise SiteModelError(f"no model version {version!r} (see `moderation model list`)")
    data = learning.read_labelled(data_file) if data_file else learning.from_decisions(db, heldout=True)
    truth = data.column("toxicity")
    if len(data) < MIN_HELDOUT or len(set(truth.tolist())) < 2:
        raise SiteModelError(f"only {len(data)} held-out decisions (need at least {MIN_HELDOUT}, "
                             "approved and rejected)")
    results: dict[str, dict | None] = {}
    with db.session() as session:
        for role, load in (("candidate", lambda: version_scorer(session, version)),
                           ("active", lambda: active_scorer(session, config))):
            try:
                scorer = load()
            except (OSError, ValueError, KeyError) as exc:
                raise SiteModelError(f"cannot load the {role} model: {exc}") from exc
            if scorer is None:  # nothing to beat: no model active and none shipped
                results[role] = None
                continue
            t = threshold if threshold is not None else float(scorer.card.get("threshold", 0.5))
            results[role] = {**learning.evaluate(scorer.model, data, t), "model": scorer.card.get("version", role)}
    active, candidate = results["active"] or {}, results["candidate"]
    f1, active_f1 = candidate["f1_official"] or 0, active.get("f1_official") or 0
    beats = results["active"] is None or (f1 > active_f1 and (candidate["roc_auc"] or 0) >= (active.get("roc_auc") or 0))
    metrics = {**results, "candidate_not_worse": f1 >= active_f1, "candidate_beats": beats,
               "data": str(data_file) if data_file else "held-out decisions"}
    with db.session() as session:
        registry.get(session, version).metrics = metrics
    return metrics


def activate(db: "Database", version: str, actor: str, *, force: bool = False) -> None:
    """Make an evaluated, not-worse version the model triage uses (force skips both checks, never the checksum)."""
    with db.session() as session:
        row = registry.get(session, version)
        if row is None:
            raise SiteModelError(f"no model version {version!r} (see `moderation model list`)")
        if not force and not row.metrics:
            raise SiteModelError(f"{version} has not been evaluated: run "
                                 f"`moderation model evaluate --model-version {version}`")
        if not force and not row.metrics.get("candidate_not_worse"):
            raise SiteModelError(f"{version} scored worse than the active model on held-out data "
                                 "(use --force to override)")
        try:
            version_scorer(session, version)
        except Exception as exc:  # noqa: BLE001 - whatever fails to load must not go live
            raise SiteModelError(f"{version} cannot be loaded ({type(exc).__name__}: {exc}); retrain") from exc
        registry.activate(session, row, actor)


def rollback(db: "Database", actor: str) -> str | None:
    """Back to the model active before the newest activation; returns its version (None: the shipped model)."""
    with db.session() as session:
        try:
            row = registry.rollback(session, actor)
        except LookupError as exc:
            raise SiteModelError(str(exc)) from None
        return row.version if row else None
