"""Per-rule statistics: hits, holds, rejections, how often moderators overturned the rule, precision by week."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, func, select

from moderation.store import Comment, Database, RuleHit, TriageResult
from moderation.store.reports import Report


@dataclass
class RuleStats:
    rule_id: str
    shadow: bool = False
    hits: int = 0
    held: int = 0  # comments it hit that triage held (for a shadow rule: that it would have held)
    rejected: int = 0
    published: int = 0  # hit, yet published: another rule or the policy decided so, or it is a shadow rule
    confirmed: int = 0  # moderators rejected what the rule flagged
    overturned: int = 0  # moderators approved what the rule flagged (or rejected what it approved)
    reported: int = 0  # hits on comments readers reported: evidence for the rule even where nobody decided yet
    weekly: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))  # week -> [conf, over]

    @property
    def precision(self) -> float | None:
        reviewed = self.confirmed + self.overturned
        return round(self.confirmed / reviewed, 4) if reviewed else None

    def to_dict(self) -> dict:
        return {"rule": self.rule_id, "shadow": self.shadow, "hits": self.hits, "held": self.held,
                "rejected": self.rejected, "published": self.published, "confirmed": self.confirmed,
                "overturned": self.overturned, "reported": self.reported, "precision": self.precision,
                "precision_by_week": {week: round(c / (c + o), 4) if c + o else None
                                      for week, (c, o) in sorted(self.weekly.items())}}


def _week(when: datetime | None) -> str:
    if when is None:
        return "undated"
    year, week, _ = when.isocalendar()
    return f"{year}-W{week:02d}"


def rule_stats(db: Database, since: datetime | None = None) -> list[RuleStats]:
    """Statistics of every rule over each comment's current triage result (and its moderators' decision)."""
    by_rule: dict[tuple[str, bool], RuleStats] = {}
    current = (RuleHit.triage_id == Comment.triage_id)
    counts = (select(RuleHit.rule_id, RuleHit.shadow, RuleHit.action, TriageResult.decision, Comment.status,
                     Comment.decided_by_human, func.count())
              .join(Comment, current).join(TriageResult, TriageResult.id == RuleHit.triage_id)
              .group_by(RuleHit.rule_id, RuleHit.shadow, RuleHit.action, TriageResult.decision, Comment.status,
                        Comment.decided_by_human))
    dated = (select(RuleHit.rule_id, RuleHit.shadow, RuleHit.action, Comment.status,
                    func.coalesce(Comment.created_at, RuleHit.created_at))
             .join(Comment, current).where(Comment.decided_by_human.is_(True),
                                           Comment.status.in_(("approved", "rejected"))))
    reported = (select(RuleHit.rule_id, RuleHit.shadow, func.count()).join(Comment, current)
                .where(exists().where(Report.comment_id == Comment.id)).group_by(RuleHit.rule_id, RuleHit.shadow))
    if since is not None:
        counts = counts.where(RuleHit.created_at >= since)
        dated = dated.where(RuleHit.created_at >= since)
        reported = reported.where(RuleHit.created_at >= since)
    with db.session() as session:
        for rule_id, shadow, action, decision, status, human, n in session.execute(counts):
            stats = by_rule.setdefault((rule_id, shadow), RuleStats(rule_id, shadow))
            stats.hits += n
            effect = action if shadow else decision
            stats.held += n if effect == "hold" else 0
            stats.rejected += n if effect == "reject" else 0
            stats.published += n if effect == "approve" else 0
            if human and status in ("approved", "rejected"):
                agrees = (status == "rejected") == (action in ("hold", "reject"))
                stats.confirmed += n if agrees else 0
                stats.overturned += 0 if agrees else n
        for rule_id, shadow, action, status, when in session.execute(dated):
            agrees = (status == "rejected") == (action in ("hold", "reject"))
            by_rule[(rule_id, shadow)].weekly[_week(when)][0 if agrees else 1] += 1
        for rule_id, shadow, n in session.execute(reported):
            by_rule[(rule_id, shadow)].reported += n
    return sorted(by_rule.values(), key=lambda s: (s.shadow, -s.hits, s.rule_id))
