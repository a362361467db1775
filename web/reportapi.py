"""Readers' reports over the live API: a CMS forwards its readers' reports with its own reader ids, and reads a
comment's reports back. The same keys, limits and JSON errors as web/api.py; contract in web/openapi.yaml."""
from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, make_response, request

from moderation.services import ingest, reports
from web import csrf
from web.api import error, keyed
from web.desk import desk

bp = Blueprint("reportapi", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # keys, not cookies


@bp.post("/reports")
@keyed("feedback")
def report() -> Response:
    """A reader's report of a comment, forwarded by the CMS with its own reader id: 201 when new, 200 when this
    reader had reported the comment already (one report per reader and comment)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "bad_request", "send a JSON object")
    comment_id, reporter = body.get("comment_id"), body.get("reporter")
    if not isinstance(comment_id, str) or not isinstance(reporter, str) or not reporter.strip():
        return error(422, "invalid_report", "comment_id and reporter are the CMS's ids, as strings")
    trusted = body.get("trusted") is True
    if trusted and "moderate" not in g.client.scopes:
        return error(403, "forbidden", "only a key with the moderate scope may vouch for a reporter")
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        return error(422, "invalid_report", "note is a string")
    try:
        with desk().db.session() as session:
            stored = ingest.find(session, g.client.site, comment_id)
            if stored is None:
                return error(404, "not_found", f"no comment {comment_id!r} for site {g.client.site!r}")
            outcome = reports.report(session, stored.id, f"api:{g.client.site}:{reporter.strip()[:150]}",
                                     str(body.get("reason") or ""), note=note, origin="api", trusted=trusted,
                                     threshold=desk().config.report_threshold)
    except reports.ReportError as exc:
        return error(422, "invalid_report", str(exc))
    answer = {**outcome.to_dict(), "comment_id": comment_id}
    return make_response(jsonify(answer), 201 if outcome.created else 200)


@bp.get("/reports")
@keyed("read")
def reports_of() -> Response:
    """A comment's reports: how many, by reason, their weight, and whether it is in the Reported queue."""
    comment_id = request.args.get("comment_id", "")
    with desk().db.session() as session:
        stored = ingest.find(session, g.client.site, comment_id) if comment_id else None
        if stored is None:
            return error(404, "not_found", f"no comment {comment_id!r} for site {g.client.site!r}")
        summary = reports.summary(session, stored.id)
        queued = stored.status == "approved" and bool(stored.flagged) and not stored.decided_by_human
    if summary is None:
        return jsonify({"comment_id": comment_id, "reports": 0, "weighted": 0.0, "by_reason": {}, "queued": queued})
    return jsonify({"comment_id": comment_id, "reports": summary.total, "weighted": round(summary.weighted, 4),
                    "by_reason": dict(summary.by_reason), "trusted": summary.trusted, "queued": queued})
