"""The card's risk explanation: the parts that made a comment's risk, labelled in the interface language."""
from __future__ import annotations

from flask import Blueprint
from flask_babel import gettext

from moderation.assess.attribution import attribute
from moderation.domain.messages import N_
from web.authors import STATES

bp = Blueprint("risk", __name__)

# Each part as the card names it, and what it measures (the tooltip); a part not listed shows its own name.
PARTS = {
    "rules": (N_("rules"), N_("the most severe rule hit (severity × action × confidence), raised by further hits")),
    "model": (N_("model"), N_("the models' highest risk-label scores, averaged over the models")),
    "author": (N_("author history"), N_("the author's smoothed rejection rate on their other comments")),
    "heat": (N_("thread heat"), N_("the share of the thread's other comments held or rejected")),
    "reports": (N_("reader reports"), N_("reports by readers, weighted by how often reporters were right")),
}
SHOWN = 0.005  # contributions below this are left out of the compact line (listed in the tooltip of the bar)


@bp.app_template_filter("risk_parts")
def risk_parts(evidence: dict | None) -> dict | None:
    """The risk, its parts largest first (label, description, own value, contribution) and the bar's segments;
    None when the assessment kept no parts (made before graded risk)."""
    parts = (evidence or {}).get("risk")
    if not isinstance(parts, dict) or not parts:
        return None
    shares, offset, rows = attribute(parts), 0.0, []
    for share in shares:
        label, description = PARTS.get(share.part, (share.part, share.part))
        rows.append({"part": share.part, "label": gettext(label), "description": gettext(description),
                     "value": share.value, "contribution": share.contribution, "x": offset * 100,
                     "width": share.contribution * 100, "shown": share.contribution >= SHOWN})
        offset += share.contribution
    state = (evidence or {}).get("author_state")
    return {"risk": offset, "parts": rows, "author_state": gettext(STATES[state]) if state in STATES else state}
