"""The assessment pipeline: language -> scorers -> rules -> triage, for a batch of comments."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from moderation.domain.comments import Action
from moderation.config import Config
from moderation.domain.language import LanguageDetector, LanguageResult
from moderation.rules import CommentContext, Hit, RuleSet, load_ruleset
from moderation.scoring import Scorer, StoredModel, build_scorers, merged, run_scorers
from moderation.assess.triage import decide

RISK_LABELS = ("toxicity", "severe_toxicity", "insult", "threat", "identity_attack")


@dataclass
class Item:
    """One comment to assess, with what the rules may need from its surroundings."""

    text: str
    language: str | None = None  # known already (e.g. from the import); detected when None
    context_language: str | None = None  # the parent's or article's language, for short texts
    is_reply: bool = False
    parent_text: str | None = None
    parent_author: str | None = None
    author: str | None = None
    thread_authors: tuple[str, ...] = ()
    author_approved: int | None = None
    author_rejected: int | None = None
    premoderation: str | None = None  # per-article override
    author_state: str | None = None  # banned | suspended | premoderated | trusted, in force now (store/authors)
    author_state_note: str = ""  # who set that state and why, for the explanation
    thread_heat: float = 0.0  # share of the thread's other comments held or rejected (assess/risk.thread_heat)
    reports: float = 0.0  # readers' reports, weighted by their reporters' records (services/reports)


@dataclass
class Assessment:
    decision: Action
    priority: int
    risk: float
    explanation: str
    language: LanguageResult
    hits: list[Hit]
    shadow_hits: list[Hit]
    failures: list[str]
    scores: dict[str, dict[str, float]]  # scorer name -> label -> score
    scorer_versions: dict[str, str]
    ruleset_version: str
    flagged: bool = False
    context: CommentContext | None = field(default=None, repr=False)
    evidence: dict = field(default_factory=dict)  # risk parts, author state and reason code (triage.Verdict)

    def to_dict(self) -> dict:
        return {
            "decision": self.decision.value, "priority": self.priority, "risk": round(self.risk, 4),
            "explanation": self.explanation, "flagged": self.flagged,
            "language": {"code": self.language.language, "probability": self.language.probability,
                         "method": self.language.method},
            "hits": [h.to_dict() for h in self.hits], "shadow_hits": [h.to_dict() for h in self.shadow_hits],
            "failures": self.failures,
            "scorers": [{"name": n, "version": v, "scores": self.scores.get(n)}
                        for n, v in self.scorer_versions.items()],
            "ruleset_version": self.ruleset_version, "evidence": self.evidence,
        }


class Pipeline:
    """Everything needed to assess comments, loaded once and reused for every batch."""

    def __init__(self, ruleset: RuleSet, scorers: Sequence[Scorer] = (), detector: LanguageDetector | None = None,
                 load_problems: Sequence[str] = (), timeout: float | None = None) -> None:
        self.ruleset = ruleset
        self.scorers = list(scorers)
        self.detector = detector or LanguageDetector(ruleset.languages, ruleset.default_language)
        self.load_problems = list(load_problems)  # scorers configured but not loaded: every verdict holds
        self.timeout = timeout  # seconds per 100 comments a scorer may take; None waits for ever

    @classmethod
    def from_config(cls, config: Config, ruleset: RuleSet | None = None,
                    stored: dict[str, StoredModel] | None = None) -> "Pipeline":
        """Scorers and language detection from config; the rule set given (the active one) or config's files;
        `stored`, the registry's active models by scorer name (learning.registry.stored_models)."""
        ruleset = ruleset or load_ruleset(config.rules_path)
        scorers, problems = build_scorers(config.scorers, config, ruleset, stored)
        languages = config.languages or ruleset.languages
        detector = LanguageDetector(languages, config.default_language if config.languages else
                                    ruleset.default_language)
        return cls(ruleset, scorers, detector, problems, config.scorer_timeout or None)

    @property
    def scorer_versions(self) -> dict[str, str]:
        return {s.name: s.version for s in self.scorers}

    def reads_like(self, other: "Pipeline") -> bool:
        """Whether a comment's context read by `other` (language, tokens, list hits, addressing, links) holds here."""
        def reading(p: Pipeline) -> tuple:
            d = p.detector
            return ({k: v for k, v in p.ruleset.files.items() if k.startswith("wordlists/")}, p.ruleset.hosts,
                    d.languages, d.default, d.seed, d.min_letters, d.min_probability)
        return reading(self) == reading(other)

    def assess(self, items: Sequence[Item],
               known: Sequence[dict[str, tuple[str, dict[str, float]]] | None] | None = None,
               read: Sequence[Assessment] | None = None) -> list[Assessment]:
        """Assess a batch; `known` (per item, scorer -> (version, scores)) spares re-running models, see run_scorers;
        `read`, these items' assessments by a pipeline that reads_like this one, spares reading them again."""
        if read is not None:
            langs, contexts = [a.language for a in read], [a.context for a in read]
        else:
            unknown = [i for i in items if not i.language]
            detected = iter(self.detector.detect_many([i.text for i in unknown],
                                                      [i.context_language for i in unknown]))
            langs = [LanguageResult(i.language, 1.0, "given") if i.language else next(detected) for i in items]
            contexts = [CommentContext(i.text, language=lang.language, is_reply=i.is_reply,
                                       parent_text=i.parent_text, parent_author=i.parent_author, author=i.author,
                                       thread_authors=i.thread_authors, author_approved=i.author_approved,
                                       author_rejected=i.author_rejected) for i, lang in zip(items, langs)]
        runs = run_scorers(self.scorers, contexts, known, timeout=self.timeout)
        # A scorer that is configured but did not load is missing evidence, exactly like one that failed.
        errors = [f"scorer {r.name} failed: {r.error}" for r in runs if r.error] + self.load_problems
        out = []
        for index, (item, lang, ctx) in enumerate(zip(items, langs, contexts)):
            ctx.scores = scores = merged(runs, index)
            ev = self.ruleset.evaluate(ctx)
            risk_scores = {k: v for k, v in (scores or {}).items() if k in RISK_LABELS}
            per_scorer = {r.name: {k: v for k, v in r.scores[index].items() if k in RISK_LABELS}
                          for r in runs if r.scores is not None}
            verdict = decide(ev, self.ruleset.policy, scorer_errors=errors, author_approved=item.author_approved,
                             premoderation=item.premoderation, risk_scores=risk_scores,
                             author_rejected=item.author_rejected, author_state=item.author_state,
                             author_state_note=item.author_state_note, thread_heat=item.thread_heat,
                             reports=item.reports, model_scores=per_scorer)
            out.append(Assessment(
                verdict.decision, verdict.priority, verdict.risk, verdict.explanation, lang, ev.hits,
                ev.shadow_hits, errors + [f"{f['rule']}: {f['error']}" for f in ev.failures],
                {r.name: r.scores[index] for r in runs if r.scores is not None}, self.scorer_versions,
                self.ruleset.version, verdict.flagged, ctx, verdict.evidence))
        return out

    def assess_one(self, item: Item) -> Assessment:
        return self.assess([item])[0]
