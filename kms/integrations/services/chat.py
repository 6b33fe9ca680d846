"""Answering questions asked in Slack or Teams: who is asking, what they may read, the top three results.

A chat user is matched to a kms account by e-mail; anyone not matched (no e-mail known, no account, a
deactivated account) searches as a member would. The search is logged like any other, marked with its
chat source, so a question that found nothing reaches the gap report as asked from chat."""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, field

import requests
from sqlalchemy import func, select

from kms.auth.models import Role, User
from kms.extensions import db
from kms.search import services as search

log = logging.getLogger(__name__)

TOP = 3
SNIPPET_CHARS = 240
QUESTION_CHARS = 300
SLACK_LOOKUP_TIMEOUT = 2.0  # seconds: Slack waits 3 s for the whole answer
_TAG = re.compile(r"<[^<>]{0,200}>")
_MENTION = re.compile(r"<at>[^<]{0,200}</at>", re.IGNORECASE)


@dataclass(frozen=True)
class ChatGuest:
    """A chat user kms cannot match to an account: they find what a member finds, nothing more."""

    role: Role = Role.MEMBER
    id: None = None


@dataclass
class ChatHit:
    title: str
    url: str  # absolute
    snippet: str  # plain text


@dataclass
class ChatAnswer:
    question: str
    hits: list[ChatHit] = field(default_factory=list)
    total: int = 0
    known_user: bool = False
    unavailable: str = ""  # set when search could not answer (the index is being rebuilt)


def user_for_email(email: str | None) -> User | None:
    """The active kms account with this e-mail address (any letter case), else None."""
    email = (email or "").strip().lower()
    if not email or "@" not in email:
        return None
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    return user if user is not None and user.active else None


def slack_user_email(api_url: str, bot_token: str | None, user_id: str) -> str | None:
    """The e-mail address Slack has for ``user_id`` (users.info, needs the users:read.email scope), or None
    without a bot token, for bots and deleted users, and on any error or timeout (then: unknown user)."""
    if not bot_token or not re.fullmatch(r"[A-Z0-9]{2,30}", user_id or ""):
        return None
    try:
        response = requests.get(
            f"{api_url.rstrip('/')}/users.info",
            params={"user": user_id},
            headers={"Authorization": f"Bearer {bot_token}"},
            timeout=SLACK_LOOKUP_TIMEOUT,
            allow_redirects=False,
        )
        data = response.json() if response.status_code == 200 else {}
    except (requests.RequestException, ValueError) as error:
        log.info("Slack users.info failed for %s: %s", user_id, type(error).__name__)
        return None
    person = data.get("user") if isinstance(data, dict) and data.get("ok") else None
    if not isinstance(person, dict) or person.get("deleted") or person.get("is_bot"):
        return None
    email = (person.get("profile") or {}).get("email")
    return email if isinstance(email, str) else None


def clean_question(text: str | None) -> str:
    """The words asked: Teams' <at>mention</at> and any markup taken out, spaces collapsed, capped."""
    text = _MENTION.sub(" ", text or "")
    text = html.unescape(_TAG.sub(" ", text))
    return " ".join(text.split())[:QUESTION_CHARS]


def _plain_snippet(fragment: str) -> str:
    text = " ".join(html.unescape(_TAG.sub("", fragment or "")).split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rstrip() + "…"


def answer_question(
    index,
    question: str,
    *,
    source: str,
    asker: str,
    email: str | None,
    secret: str | bytes,
    base_url: str,
) -> ChatAnswer:
    """The top results for ``question`` that the asker may read, as plain text and absolute links.

    ``source`` is "slack" or "teams"; ``asker`` identifies the chat user within it (only a keyed hash of it
    is logged, to count different people asking). The search is logged in the caller's transaction."""
    question = clean_question(question)
    user = user_for_email(email)
    answer = ChatAnswer(question, known_user=user is not None)
    if not question:
        return answer
    try:
        outcome = search.search(
            index,
            question,
            actor=user or ChatGuest(),
            pagelen=TOP,
            source=source,
            secret=secret,
            asker_id=f"{source}:{asker}" if user is None else None,
        )
    except search.SearchUnavailable as error:
        answer.unavailable = error.message
        return answer
    base = base_url.rstrip("/")
    answer.total = outcome.result.total
    answer.hits = [
        ChatHit(hit.title, base + hit.url, _plain_snippet(hit.snippet)) for hit in outcome.result.hits[:TOP]
    ]
    return answer


# -- Slack -------------------------------------------------------------------------------------------------


def slack_escape(text: str) -> str:
    """Text safe inside Slack mrkdwn: the three characters Slack reserves for its own markup, escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(answer: ChatAnswer, *, search_url: str) -> dict:
    """An ephemeral Slack reply (only the asker sees it) listing the results as links with snippets."""
    if answer.unavailable:
        text = slack_escape(answer.unavailable)
    elif not answer.question:
        text = "Ask a question after the command, e.g. `/kms refund policy`."
    elif not answer.hits:
        text = (
            f"Nothing in the handbook answers “{slack_escape(answer.question)}” yet. "
            "The question was passed on to the authors."
        )
    else:
        lines = [f"Top results for “{slack_escape(answer.question)}”:"]
        for hit in answer.hits:
            lines.append(f"• *<{hit.url}|{slack_escape(hit.title)}>*")
            if hit.snippet:
                lines.append(f"   {slack_escape(hit.snippet)}")
        if answer.total > len(answer.hits):
            lines.append(f"<{search_url}|All {answer.total} results>")
        text = "\n".join(lines)
    return {"response_type": "ephemeral", "text": text}


# -- Microsoft Teams ------------------------------------------------------------------------------------------

_TEAMS_SPECIAL = re.compile(r"([\\`*_\[\]()#|~])")


def teams_escape(text: str) -> str:
    """Text shown as typed in a Teams message: HTML special characters and Markdown marks escaped."""
    return _TEAMS_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def teams_message(answer: ChatAnswer, *, search_url: str) -> dict:
    """The reply to a Teams outgoing webhook: a message activity with the results as Markdown links."""
    if answer.unavailable:
        text = teams_escape(answer.unavailable)
    elif not answer.question:
        text = "Ask a question after the mention, e.g. @kms refund policy."
    elif not answer.hits:
        text = (
            f"Nothing in the handbook answers “{teams_escape(answer.question)}” yet. "
            "The question was passed on to the authors."
        )
    else:
        lines = [f"Top results for “{teams_escape(answer.question)}”:"]
        for number, hit in enumerate(answer.hits, 1):
            line = f"{number}. **[{teams_escape(hit.title)}]({hit.url})**"
            if hit.snippet:
                line += f" — {teams_escape(hit.snippet)}"
            lines.append(line)
        if answer.total > len(answer.hits):
            lines.append(f"[All {answer.total} results]({search_url})")
        text = "\n\n".join(lines)
    return {"type": "message", "text": text}
