"""Commands on an author of one site: author show, ban, suspend, premoderate, trust, clear, note, undo,
reject-pending."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import click

from moderation.cli import COMMENT_TEXT, State, emit, fail, main, pass_state
from moderation.cli.language import _
from moderation.domain.comments import REASON_CODES

UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

site_option = click.option("--site", default="default", show_default=True,
                           help="The site (import source or API key's site) the author writes on.")
actor_option = click.option("--actor", default="cli", show_default=True, help="Recorded as who acted.")
reason_option = click.option("--reason", default="", help="Why; kept in the author's log and shown on triage.")
json_option = click.option("--json", "as_json", is_flag=True, help="JSON output.")


@main.group("author")
def author_group() -> None:
    """An author's comments and state on a site: ban, suspend, pre-moderate, trust, notes, undo."""


def parse_period(text: str) -> timedelta:
    """'90m', '12h', '7d', '2w'."""
    match = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", text)
    if not match or int(match[1]) == 0:
        raise click.BadParameter(f"{text!r} is not a period such as 12h, 7d or 2w")
    return timedelta(**{UNITS[match[2]]: int(match[1])})


def _run(state: State, work, as_json: bool = False) -> None:  # noqa: ANN001 - work(session) -> Result
    from moderation.services.authors import AuthorError  # noqa: PLC0415 - the CLI imports lazily for --help
    from moderation.store.decisions import DecisionError  # noqa: PLC0415

    try:
        with state.db.session() as session:
            result = work(session)
    except (AuthorError, DecisionError) as exc:
        fail(str(exc))
    a = result.action
    text = _("action %(id)s: %(action)s %(before)s → %(after)s by %(actor)s", id=a["id"], action=a["action"],
             before=a["state_before"], after=a["state_after"], actor=a["actor"])
    if result.rejected:
        done = _("; %(num)s comment(s) rejected") if a["action"] != "undo" else _("; %(num)s comment(s) restored")
        text += done % {"num": len(result.rejected)}
    if result.skipped:
        text += _("; left alone (decided since): %(list)s",
                  list=", ".join(f"{c} ({why})" for c, why in result.skipped))
    emit(result.to_dict(), as_json, text)


def _action(name: str, help_text: str) -> None:
    """A state-setting command (premoderate, trust, clear)."""
    @author_group.command(name, help=help_text)
    @click.argument("author")
    @site_option
    @actor_option
    @reason_option
    @json_option
    @pass_state
    def command(state: State, author: str, site: str, actor: str, reason: str, as_json: bool) -> None:
        from moderation.services import authors  # noqa: PLC0415

        _run(state, lambda s: authors.act(s, site, author, name, actor, reason=reason), as_json)


_action("premoderate", "Hold every new comment by the author for review.")
_action("trust", "Approve the author's clean comments (a rule hit is still judged as usual).")
_action("clear", "Back to the normal state: neither banned, suspended, pre-moderated nor trusted.")


@author_group.command("show")
@click.argument("author")
@site_option
@json_option
@pass_state
def show(state: State, author: str, site: str, as_json: bool) -> None:
    """The author's state, comments with status, rejection rate, notes, identities and action log."""
    from moderation.services import authors  # noqa: PLC0415

    with state.db.session() as session:
        p = authors.profile(session, site, author)
    rate = "–" if p.rejection_rate is None else f"{p.rejection_rate:.0%}"
    until = _(" until %(when)s", when=p.until) if p.until else ""
    lines = [_("%(author)s on %(site)s: %(state)s", author=author, site=site, state=p.state) + until
             + _(" (version %(version)s)", version=p.version),
             _("comments: %(counts)s; rejection rate %(rate)s",
               counts=", ".join(f"{k} {v}" for k, v in p.counts.items()), rate=rate),
             _("first seen %(first)s, last seen %(last)s; pending %(pending)s", first=p.first_seen or "–",
               last=p.last_seen or "–", pending=p.pending)]
    for label, values in ((_("e-mails"), p.emails), (_("IP prefixes"), p.ip_prefixes),
                          (_("other names"), p.other_names)):
        if values:
            lines.append(f"{label}: {', '.join(values)}")
    lines += [_("note %(id)s by %(actor)s at %(at)s: %(text)s", id=n["id"], actor=n["actor"], at=n["at"],
                text=n["reason"]) for n in p.notes]
    lines += [_("action %(id)s: %(action)s by %(actor)s at %(at)s", id=a["id"], action=a["action"], actor=a["actor"],
                at=a["at"]) + (f" – {a['reason']}" if a["reason"] else "") + (_(" (undone)") if a["undone"] else "")
              for a in p.actions if a["action"] != "note"]
    lines += [f"  {c['id']}\t{c['status']}\t{c['risk']:.2f}\t{c['text'][:70]}" for c in p.comments]
    emit(p.to_dict(), as_json, "\n".join(lines))


@author_group.command("ban")
@click.argument("author")
@site_option
@actor_option
@reason_option
@click.option("--reject-pending", is_flag=True, help="Also reject every comment of theirs awaiting review.")
@click.option("--reason-code", type=click.Choice(list(REASON_CODES)), default="other", show_default=True,
              help="The rejections' reason code (with --reject-pending).")
@click.option("--preview", is_flag=True, help="Only say how many pending comments --reject-pending would reject.")
@json_option
@pass_state
def ban(state: State, author: str, site: str, actor: str, reason: str, reject_pending: bool, reason_code: str,
        preview: bool, as_json: bool) -> None:
    """Ban the author on the site: their new comments are rejected."""
    from moderation.services import authors  # noqa: PLC0415

    if preview:
        return _preview(state, site, author, as_json)
    _run(state, lambda s: authors.act(s, site, author, "ban", actor, reason=reason, reject_pending=reject_pending,
                                      reason_code=reason_code), as_json)


def _preview(state: State, site: str, author: str, as_json: bool) -> None:
    from moderation.services import authors  # noqa: PLC0415

    with state.db.session() as session:
        count = authors.pending_count(session, site, author)
    emit({"pending": count}, as_json, _("%(num)s pending comment(s) by %(author)s would be rejected", num=count,
                                         author=author))


@author_group.command("suspend")
@click.argument("author")
@site_option
@actor_option
@reason_option
@click.option("--for", "period", help="How long: 12h, 7d, 2w.")
@click.option("--until", "until", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M"]), help="Until (UTC).")
@json_option
@pass_state
def suspend(state: State, author: str, site: str, actor: str, reason: str, period: str | None,
            until: datetime | None, as_json: bool) -> None:
    """Reject the author's new comments until a time."""
    from moderation.services import authors  # noqa: PLC0415

    if (period is None) == (until is None):
        fail(_("give either --for or --until"))
    end = (datetime.now(timezone.utc) + parse_period(period)) if period else until.replace(tzinfo=timezone.utc)
    _run(state, lambda s: authors.act(s, site, author, "suspend", actor, reason=reason, until=end), as_json)


@author_group.command("note")
@click.argument("author")
@click.argument("text", type=COMMENT_TEXT)
@site_option
@actor_option
@json_option
@pass_state
def note(state: State, author: str, text: str, site: str, actor: str, as_json: bool) -> None:
    """Add a moderator note to the author."""
    from moderation.services import authors  # noqa: PLC0415

    _run(state, lambda s: authors.act(s, site, author, "note", actor, reason=text), as_json)


@author_group.command("reject-pending")
@click.argument("author")
@site_option
@actor_option
@reason_option
@click.option("--reason-code", type=click.Choice(list(REASON_CODES)), required=True)
@click.option("--preview", is_flag=True, help="Only say how many comments would be rejected.")
@json_option
@pass_state
def reject_pending(state: State, author: str, site: str, actor: str, reason: str, reason_code: str, preview: bool,
                   as_json: bool) -> None:
    """Reject every comment by the author that awaits review, one decision each."""
    from moderation.services import authors  # noqa: PLC0415

    if preview:
        return _preview(state, site, author, as_json)
    _run(state, lambda s: authors.act(s, site, author, "reject-pending", actor, reason=reason,
                                      reason_code=reason_code), as_json)


@author_group.command("undo")
@click.argument("action_id", type=int)
@actor_option
@reason_option
@json_option
@pass_state
def undo(state: State, action_id: int, actor: str, reason: str, as_json: bool) -> None:
    """Undo an author action (see `author show`): the state before it, and its rejections, come back."""
    from moderation.services import authors  # noqa: PLC0415

    _run(state, lambda s: authors.undo(s, action_id, actor, reason=reason), as_json)
