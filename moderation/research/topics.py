"""Topics by TF-IDF and NMF (fitted on a sample, applied to all), crossed with toxicity, sentiment and rejections."""
from __future__ import annotations

import re
import warnings

import numpy as np
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from moderation.research.frame import Frame
from moderation.research.outcomes import rejected_share
from moderation.research.threadmetrics import _r, nanmean_by

GERMAN_STOP_WORDS = frozenset("""
aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes anders auch auf aus bei
bin bis bist bitte da dabei dadurch dafür dagegen daher damit dann darauf darum das dass dein deine dem den denn der
des deshalb dessen die dies diese diesem diesen dieser dieses doch dort du durch ein eine einem einen einer eines
einfach einmal er es etwa etwas euch euer eure für ganz gar gegen gerade gibt gut hab habe haben hat hatte hätte
heute hier hin ich ihm ihn ihnen ihr ihre ihrem ihren ihrer im immer in ins ist ja jede jedem jeden jeder jedes
jetzt kann kein keine keinem keinen keiner können könnte man mal mehr mein meine mich mir mit muss müssen nach
nicht nichts noch nun nur ob oder ohne schon sehr sein seine seinem seinen seiner sich sie sind so solche soll
sollte sondern sonst statt über um und uns unser unsere unter viel viele vom von vor wann war waren warum was weil
weiter welche welchem welchen welcher wenn wer werden wie wieder will wir wird wirklich wo wohl wollen worden wurde
würde zu zum zur zwar zwischen eben halt genau natürlich leider dann sowie beim seit ab wäre wären sei kommt geht
""".split())
# Pieces of links ("https", "www", "com", "watch") say nothing about a topic; links are removed before counting words.
URL_WORDS = frozenset("http https www com org net html htm php watch youtube youtu".split())
STOP_WORDS = sorted(GERMAN_STOP_WORDS | ENGLISH_STOP_WORDS | URL_WORDS)
LINK = re.compile(r"(?i)\b(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|de|org|net|at|ch|be|info|ly)(?:/\S*)?")


def without_links(text: str) -> str:
    """The text with every link (and bare domain) removed, so no URL fragment becomes a topic word."""
    return LINK.sub(" ", text)
FIT_SAMPLE = 40_000  # NMF learns the topics from this many comments; all comments are then assigned


def topics(frame: Frame, k: int = 8, seed: int = 0) -> tuple[list[dict], np.ndarray]:
    """Topic rows (top words, size, mean toxicity and sentiment, rejection rate) and each comment's topic (-1: none)."""
    n = len(frame)
    assigned = np.full(n, -1, dtype=np.int64)
    texts = np.array([without_links(t) for t in frame["text"]], dtype=object)
    if n < 2 * k:
        return [], assigned
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=min(n, FIT_SAMPLE), replace=False))
    vectorizer = TfidfVectorizer(max_features=20_000, min_df=2 if n >= 200 else 1, max_df=0.5, stop_words=STOP_WORDS,
                                 token_pattern=r"(?u)\b[^\W\d_]{3,}\b", sublinear_tf=True, dtype=np.float32)
    try:
        fit = vectorizer.fit_transform(texts[sample])
    except ValueError:  # nothing left after stop words
        return [], assigned
    k = min(k, fit.shape[1], len(sample) - 1)
    if k < 1:
        return [], assigned
    model = NMF(n_components=k, init="nndsvd", random_state=seed, max_iter=300)
    with warnings.catch_warnings():  # an unconverged NMF still gives usable topics; the report says how fitted
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(fit)
    words = vectorizer.get_feature_names_out()
    for start in range(0, n, 100_000):
        weights = model.transform(vectorizer.transform(texts[start:start + 100_000]))
        best = weights.argmax(axis=1)
        assigned[start:start + 100_000] = np.where(weights.max(axis=1) > 0, best, -1)
    has = assigned >= 0
    count = np.bincount(assigned[has], minlength=k)
    tox = nanmean_by(assigned[has], frame["toxicity"][has], k)
    sent = nanmean_by(assigned[has], frame["sentiment"][has], k)
    rej = nanmean_by(assigned[has], rejected_share(frame)[has], k)
    rows = []
    for t in range(k):
        top = words[np.argsort(-model.components_[t])[:8]]
        rows.append({"topic": t, "top_words": ", ".join(top), "comments": int(count[t]), "share": _r(count[t] / n),
                     "mean_toxicity": _r(tox[t]), "mean_sentiment": _r(sent[t]), "rejected_share": _r(rej[t])})
    return rows, assigned


def by_language(frame: Frame, k: int = 8, seed: int = 0) -> tuple[list[dict], np.ndarray]:
    """Topics found separately in each language (German words never mix with English ones), largest language first."""
    names, idx = frame.codes("language")
    assigned = np.full(len(frame), -1, dtype=np.int64)
    rows: list[dict] = []
    offset = 0
    for i in np.argsort(-np.bincount(idx, minlength=len(names)), kind="stable"):
        mask = idx == i
        found, of = topics(frame.subset(mask), k, seed)
        for row in found:
            rows.append({"language": names[i] or "unknown", **row, "topic": row["topic"] + offset,
                         "share_of_language": row["share"], "share": _r(row["comments"] / len(frame))})
        assigned[mask] = np.where(of >= 0, of + offset, -1)
        offset += len(found)
    return rows, assigned
