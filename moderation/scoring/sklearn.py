"""The sklearn scorer: the shipped or registered linear model, loaded and scored without importing scikit-learn.

Training lives in moderation.scoring.estimator (ToxicityClassifier, a scikit-learn estimator); scoring needs only
numpy (moderation.scoring.linear), so a process that just scores starts in a fraction of a second.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from moderation.scoring import ScorerUnavailable, StoredModel, register
from moderation.scoring import linear
from moderation.scoring.linear import LinearModel, preprocess  # noqa: F401 - preprocess re-exported
from moderation.scoring.wordfeatures import LexiconCounter, lexicon_from_ruleset  # noqa: F401 - re-exported

if TYPE_CHECKING:
    from moderation.config import Config
    from moderation.rules import RuleSet

PACKAGE_MODEL = Path(__file__).resolve().parent.parent / "models" / "default.npz"
_LEXICONS: dict[int, tuple[object, LexiconCounter]] = {}  # id -> (the mapping, kept alive so the id stays its own)


def lexicon_counter(lexicon: Mapping[str, Sequence[str]] | None) -> LexiconCounter:
    """The counter for a lexicon mapping, built once (6 ms for the shipped lists) and reused while it lives."""
    hit = _LEXICONS.get(id(lexicon))
    if hit is None or hit[0] is not lexicon:
        if len(_LEXICONS) >= 8:
            _LEXICONS.pop(next(iter(_LEXICONS)))
        hit = _LEXICONS[id(lexicon)] = (lexicon, LexiconCounter(lexicon or {}))
    return hit[1]


@lru_cache(maxsize=8)
def _featurizer(word_bits: int, char_bits: int, char_ngrams: tuple[int, int], counter: LexiconCounter
                ) -> linear.Featurizer:
    return linear.Featurizer(word_bits, char_bits, char_ngrams, counter)


def featurizer(word_bits: int, char_bits: int, char_ngrams: tuple[int, int],
               lexicon: Mapping[str, Sequence[str]] | None) -> linear.Featurizer:
    """One featurizer (with its word caches) per shape and lexicon in a process, shared by every model."""
    return _featurizer(word_bits, char_bits, tuple(char_ngrams), lexicon_counter(lexicon))


def model_bytes(model: Any, card: dict) -> bytes:  # noqa: ANN401 - a fitted estimator.ToxicityClassifier
    """Model and card as a model file's bytes (what the registry stores): numpy .npz, plain arrays and JSON."""
    return linear.write(model.to_state(), card)


def save_model(model: Any, path: Path, card: dict) -> str:  # noqa: ANN401 - as model_bytes
    """Write model and card; returns the file's sha256."""
    data = model_bytes(model, card)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def read_state(data: bytes) -> tuple[dict, dict]:
    """(state, card) from a model file's bytes: .npz, or a skops file of the earlier format (arrays only)."""
    if linear.is_npz(data):
        return linear.read(data)
    try:
        return _read_skops(data)
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - bytes that are no model raise BadZipFile, KeyError, ... in skops
        raise ValueError(f"not a model file ({type(exc).__name__}: {exc})") from None


def _read_skops(data: bytes) -> tuple[dict, dict]:
    import json  # noqa: PLC0415

    import skops.io as sio  # noqa: PLC0415 - seconds to import: only for files written before the .npz format

    # A sparse matrix is data; any other type skops does not trust could run code when loaded, so it is refused.
    allowed = ["scipy.sparse._csr.csr_matrix", "scipy.sparse._csr.csr_array"]
    try:
        raw = sio.loads(data, trusted=allowed)
    except sio.exceptions.UntrustedTypesFoundException as exc:
        raise ValueError(f"refusing to load untrusted types: {exc}") from None
    model = raw["model"]
    if model.get("format") != "moderation-sklearn/1":
        raise ValueError(f"unknown model format {model.get('format')!r}")
    coef = model["coef"].tocsr()
    state = {"params": model["params"], "labels": model["labels"], "coef_data": coef.data,
             "coef_indices": coef.indices, "coef_indptr": coef.indptr, "coef_shape": coef.shape,
             "intercept": model["intercept"], "calibration": model["calibration"]}
    return state, json.loads(raw["card"])


def card_thresholds(card: Mapping) -> dict[str, float]:
    """Decision threshold per label from a model card: each label's held-out best-F1 cut, `threshold` for toxicity."""
    cuts = {label: float(m["threshold"]) for label, m in card.get("metrics_heldout", {}).items()
            if m.get("threshold") is not None}
    if card.get("threshold") is not None:
        cuts["toxicity"] = float(card["threshold"])
    return cuts


def model_version(card: dict, sha256: str) -> str:
    name, version = str(card.get("name", "sklearn")), str(card.get("version", "0"))
    return f"{version if version.startswith(name) else f'{name}-{version}'}-{sha256[:10]}"


class SklearnScorer:
    """The classifier behind the Scorer protocol; labels it was not trained for are simply absent."""

    name = "sklearn"

    def __init__(self, model: LinearModel, version: str, card: dict | None = None) -> None:
        self.model = model
        self.version = version
        self.labels = tuple(model.labels_)
        self.card = card or {}

    @classmethod
    def from_file(cls, path: Path) -> "SklearnScorer":
        return cls.from_bytes(path.read_bytes())

    @classmethod
    def from_bytes(cls, data: bytes, sha256: str | None = None) -> "SklearnScorer":
        """The model in a model file's bytes; with `sha256`, bytes that do not hash to it are refused."""
        actual = hashlib.sha256(data).hexdigest()
        if sha256 is not None and actual != sha256:
            raise ValueError(f"stored bytes have sha256 {actual[:12]}..., the registry recorded {sha256[:12]}...")
        state, card = read_state(data)
        model = linear.model_from_state(state, lexicon_counter(state["params"].get("lexicon")), card_thresholds(card))
        return cls(model, model_version(card, actual), card)

    def score(self, texts: Sequence[str], languages: Sequence[str | None] | None = None) -> list[dict[str, float]]:
        if not texts:
            return []
        probs = self.model.predict_proba(list(texts))
        return [{label: round(float(p), 4) for label, p in zip(self.labels, row)} for row in probs]


_LOADED: dict[str, SklearnScorer] = {}  # loaded once per process, by the bytes' sha256


@register("sklearn")
def _factory(config: "Config", ruleset: "RuleSet", stored: StoredModel | None = None) -> SklearnScorer:
    """MODERATION_MODEL_PATH, else the registry's active model (`stored`), else the shipped one."""
    if stored is not None and not config.model_path:
        return _cached(stored.sha256, lambda: stored.data, f"model {stored.version} from the registry")
    path = Path(config.model_path) if config.model_path else PACKAGE_MODEL
    if not path.is_file():
        raise ScorerUnavailable(f"no model file at {path}; run `make model` or `moderation model train`")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScorerUnavailable(f"cannot load {path}: {exc}") from exc
    return _cached(hashlib.sha256(data).hexdigest(), lambda: data, str(path))


def _cached(sha256: str, data: Callable[[], bytes | None], what: str) -> SklearnScorer:
    if sha256 not in _LOADED:
        raw = data()
        if raw is None:
            raise ScorerUnavailable(f"{what}: the registry holds no bytes for it (activate another version)")
        try:
            _LOADED[sha256] = SklearnScorer.from_bytes(raw, sha256)
        except Exception as exc:  # noqa: BLE001 - random bytes raise BadZipFile, a bad state TypeError, ...
            raise ScorerUnavailable(f"cannot load {what}: {type(exc).__name__}: {exc}") from exc
    return _LOADED[sha256]
