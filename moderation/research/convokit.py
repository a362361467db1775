"""ConvoKit corpus folder (utterances.jsonl, speakers.json, conversations.json, corpus.json, index.json)."""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path

ANONYMOUS = "[anonymous]"
UTTERANCE_META = ("source", "article_id", "depth", "language", "status", "model_decision", "ruleset_version",
                  "decision", "reason_code", "sentiment", "sentiment_model")
JSON_META = ("rule_hits", "decisions")


def _type(value: object) -> str:
    return str(type(value))  # ConvoKit's index records Python type names like "<class 'float'>"


def _index(objects: list[dict]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for meta in objects:
        for key, value in meta.items():
            if value is not None and key not in out:
                out[key] = [_type(value)]
    return out


def write_corpus(rows: list[dict], out: Path, info: dict) -> dict:
    """Write provenance rows (see provenance.provenance_rows) as a ConvoKit corpus; returns the counts."""
    out.mkdir(parents=True, exist_ok=True)
    clash = len({r["id"] for r in rows}) < len(rows)  # ids are unique per source only
    uid = (lambda r, ext: f"{r['source']}:{ext}") if clash else (lambda r, ext: ext)
    known = {uid(r, r["id"]) for r in rows}
    utterances, speakers, conversations = [], Counter(), {}
    for r in rows:
        meta = {k: r.get(k) for k in UTTERANCE_META if k in r}
        meta.update({k: json.loads(r[k]) for k in JSON_META if r.get(k)})
        meta["scores"] = {k[len("score."):]: v for k, v in r.items() if k.startswith("score.")}
        meta["scorer_versions"] = {k.split(".")[1]: v for k, v in r.items() if k.startswith("scorer.")}
        reply_to = uid(r, r["parent_id"]) if r.get("parent_id") else None
        speaker = r.get("author") or ANONYMOUS
        created = r.get("created_at")
        utterances.append({"id": uid(r, r["id"]), "conversation_id": uid(r, r["conversation_id"]), "text": r["text"],
                           "speaker": speaker, "meta": meta,
                           "reply-to": reply_to if reply_to in known else None,  # an unknown parent: a root
                           "timestamp": int(datetime.fromisoformat(created).timestamp()) if created else None,
                           "vectors": []})
        speakers[speaker] += 1
        conversations.setdefault(uid(r, r["conversation_id"]), {"article_id": r.get("article_id"),
                                                                "article_title": r.get("article_title")})
    with (out / "utterances.jsonl").open("w", encoding="utf-8") as fh:
        for u in utterances:
            fh.write(json.dumps(u, ensure_ascii=False) + "\n")
    speaker_meta = {s: {"meta": {"comments": n}, "vectors": []} for s, n in speakers.items()}
    convo_meta = {c: {"meta": m, "vectors": []} for c, m in conversations.items()}
    _dump(out / "speakers.json", speaker_meta)
    _dump(out / "conversations.json", convo_meta)
    _dump(out / "corpus.json", info)
    _dump(out / "index.json", {
        "utterances-index": _index([u["meta"] for u in utterances]),
        "speakers-index": _index([s["meta"] for s in speaker_meta.values()]),
        "conversations-index": _index([c["meta"] for c in convo_meta.values()]),
        "overall-index": _index([info]), "version": 1, "vectors": []})
    return {"utterances": len(utterances), "speakers": len(speakers), "conversations": len(conversations)}


def _dump(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
