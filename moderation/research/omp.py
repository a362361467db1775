"""Reader for the One Million Posts corpus CSV (posts_labeled.csv[.xz]): one row per post × label, folded to posts."""
from __future__ import annotations

import csv
import lzma
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

COLUMNS = ("ID_Post", "ID_Parent_Post", "ID_Article", "ID_User", "CreatedAt", "Status", "Headline", "Body")


@dataclass
class Post:
    """One post with the moderators' labels (category -> 0/1) and its fold."""

    id: str
    parent_id: str | None
    article_id: str
    author: str
    created_at: datetime | None
    status: str
    text: str
    fold: int | None
    labels: dict[str, int] = field(default_factory=dict)


def is_omp(path: Path) -> bool:
    """True when the file's header is the One Million Posts one."""
    try:
        with _open(path) as fh:
            header = fh.readline()
    except (OSError, lzma.LZMAError, UnicodeDecodeError):
        return False
    return header.startswith("ID_Post,") and "ID_Parent_Post" in header


def _open(path: Path):  # noqa: ANN202 - a text file handle
    if str(path).endswith(".xz"):
        return lzma.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _time(value: str) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)


def read_posts(path: Path) -> list[Post]:
    """All posts in file order of first appearance; a malformed row raises ValueError naming file and line."""
    posts: dict[str, Post] = {}
    with _open(path) as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path}:1: not a One Million Posts file, missing columns {', '.join(missing)}")
        for row in reader:
            try:
                post = posts.get(row["ID_Post"])
                if post is None:
                    text = "\n".join(p for p in (row["Headline"], row["Body"]) if p)
                    post = posts[row["ID_Post"]] = Post(
                        row["ID_Post"], row["ID_Parent_Post"] or None, row["ID_Article"], row["ID_User"],
                        _time(row["CreatedAt"]), row["Status"], text, int(row["Fold"]) if row.get("Fold") else None)
                if row.get("Category"):
                    post.labels[row["Category"]] = int(row["Value"])
            except (ValueError, KeyError) as exc:
                raise ValueError(f"{path}:{reader.line_num}: {exc}") from exc
    return list(posts.values())


def sentiment_gold(post: Post) -> str | None:
    """negative | neutral | positive from the moderators' one-hot sentiment labels, or None when unlabelled."""
    for name in ("Negative", "Neutral", "Positive"):
        if post.labels.get(f"Sentiment{name}") == 1:
            return name.lower()
    return None
