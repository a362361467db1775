"""Dispatch of `moderation export` to its formats."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

FORMATS = ("jsonl", "csv", "parquet", "convokit")


def export_as(db, config, fmt: str, out: Path, pseudonymize: bool = False) -> str:  # noqa: ANN001
    """Write the export; returns a one-line summary for the command line."""
    from moderation.research import convokit, provenance  # noqa: PLC0415
    from moderation.research.commentexport import export_jsonl  # noqa: PLC0415
    from moderation.research.pseudonyms import for_config  # noqa: PLC0415

    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    pseudonym = for_config(config) if pseudonymize else None
    if fmt == "jsonl":
        return f"wrote {export_jsonl(db, out, pseudonym)} comments to {out}"
    rows = provenance.provenance_rows(db, pseudonym or provenance._keep)
    if fmt == "csv":
        provenance.write_csv(rows, out)
    elif fmt == "parquet":
        provenance.write_parquet(rows, out)
    else:
        scorers = sorted({k.split(".")[1] + " " + str(v) for r in rows for k, v in r.items()
                          if k.startswith("scorer.")})
        info = {"name": "moderation-desk export", "exported_at": datetime.now(timezone.utc).isoformat(),
                "pseudonymized": bool(pseudonymize), "scorers": scorers,
                "ruleset_versions": sorted({r["ruleset_version"] for r in rows if r.get("ruleset_version")})}
        counts = convokit.write_corpus(rows, out, info)
        return (f"wrote a ConvoKit corpus to {out}: {counts['utterances']:,} utterances, "
                f"{counts['speakers']:,} speakers, {counts['conversations']:,} conversations")
    return f"wrote {len(rows):,} comments to {out}"
