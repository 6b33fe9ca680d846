"""Answering questions asked in Slack or Teams: who is asking, what they may read, the top three results.

A chat user is matched to a kms account by e-mail; anyone not matched (no e-mail known, no account, a
deactivated account) searches as a member would. The search is logged like any other, marked with its
chat source, so a question that found nothing reaches the gap report as asked from chat."""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, field

from sqlalchemy import func, select

from kms.auth.models import Role, User
from kms.extensions import db
from kms.search import services as search
from kms.search.engine import SearchIndexError
from kms.search.indexer import visibilities_for

log = logging.getLogger(__name__)

TOP = 3
SNIPPET_CHARS = 240
QUESTION_CHARS = 300
SLACK_LOOKUP_TIMEOUT = 2.0  # seconds: Slack waits 3 s for the whole answer
_TAG = re.compile(r"<[^<>]{0,200}>")
_WORD = re.compile(r"\w+")
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
    closest: bool = False  # no result had every word; the hits are those with some of them


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
    import requests  # at first use: ~50 ms of every start otherwise

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
    result = outcome.result
    if not result.total:
        result = _any_word(index, question, user or ChatGuest()) or result
        answer.closest = bool(result.total)
    base = base_url.rstrip("/")
    answer.total = result.total
    answer.hits = [
        ChatHit(hit.title, base + hit.url, _plain_snippet(hit.snippet)) for hit in result.hits[:TOP]
    ]
    return answer


def _any_word(index, question: str, actor):
    """Results with any of the question's longer words, for a chat question written as a sentence ("how do
    refunds work?") that no page matches word for word. Not logged: the question itself was, as found
    nothing, which is what the gap report should show."""
    words = [
        word for word in _WORD.findall(question.lower()) if len(word) >= 3 and word not in ("and", "not")
    ]
    if len(words) < 2:
        return None
    try:
        result = index.engine().search(
            " OR ".join(dict.fromkeys(words[:12])), visibilities=visibilities_for(actor.role), pagelen=TOP
        )
    except SearchIndexError:
        return None
    # The engine's typo-tolerant retry would stretch "some of the words" to "something like one of them".
    return None if result.fuzzy else result


def _heading(answer: ChatAnswer) -> str:
    return "Nothing matched every word; the closest pages for" if answer.closest else "Top results for"


# -- Slack -------------------------------------------------------------------------------------------------


def slack_escape(text: str) -> str:
    """Text safe inside Slack mrkdwn: the three characters Slack reserves for its own markup, escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_link(url: str, text: str) -> str:
    """A Slack mrkdwn link; the address cannot break out of <…|…> and the text is escaped."""
    target = url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")
    return f"<{target}|{slack_escape(text)}>"


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
        lines = [f"{_heading(answer)} “{slack_escape(answer.question)}”:"]
        for hit in answer.hits:
            lines.append(f"• *{slack_link(hit.url, hit.title)}*")
            if hit.snippet:
                lines.append(f"   {slack_escape(hit.snippet)}")
        if answer.total > len(answer.hits):
            lines.append(slack_link(search_url, f"All {answer.total} results"))
        text = "\n".join(lines)
    return {"response_type": "ephemeral", "text": text}


# -- Microsoft Teams ------------------------------------------------------------------------------------------

_TEAMS_SPECIAL = re.compile(r"([\\`*_\[\]()#|~])")


def teams_escape(text: str) -> str:
    """Text shown as typed in a Teams message: HTML special characters and Markdown marks escaped."""
    return _TEAMS_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def _link_target(url: str) -> str:
    """A URL that cannot end a Markdown link early: parentheses and spaces percent-encoded."""
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


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
        lines = [f"{_heading(answer)} “{teams_escape(answer.question)}”:"]
        for number, hit in enumerate(answer.hits, 1):
            line = f"{number}. **[{teams_escape(hit.title)}]({_link_target(hit.url)})**"
            if hit.snippet:
                line += f" — {teams_escape(hit.snippet)}"
            lines.append(line)
        if answer.total > len(answer.hits):
            lines.append(f"[All {answer.total} results]({_link_target(search_url)})")
        text = "\n\n".join(lines)
    return {"type": "message", "text": text}
