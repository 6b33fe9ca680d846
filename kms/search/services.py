"""Search use cases: query, suggest, log, content-gap report and index maintenance.

Each function gets the app's SearchIndex (kms.search.indexer) from the caller, so nothing here
needs a request. What a user finds is decided by their role's visibility set, passed to the engine,
so results, counts, facets, snippets, suggestions and "did you mean" never come from documents the
user could not open.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select

from kms.articles import services as handbook
from kms.articles.models import Article, Process, process_name_key
from kms.auth.models import User
from kms.errors import Invalid, KmsError
from kms.extensions import db, utcnow
from kms.search import rebuilds
from kms.search.analysis import normalize_keyword
from kms.search.engine import IndexMissingError, SearchIndexError, SearchResult, TitleSuggestion
from kms.search.indexer import (  # noqa: F401 - views read services.MAX_ATTEMPTS
    MAX_ATTEMPTS,
    Drift,
    Quarantined,
    SearchIndex,
    ServerState,
    visibilities_for,
)
from kms.search.models import SearchGapDismissal, SearchLog
from kms.training.models import Module

log = logging.getLogger(__name__)

MAX_QUERY = 500
LOGGED_QUERY_CHARS = 200
FEW_RESULTS = 2  # a search with this many results or fewer counts as a gap
GAP_DAYS = 30
GAP_ASKERS = 2  # a gap needs this many different people asking (not one manager's candidate name)
CHAT_SOURCES = (
    "slack",
    "teams",
)  # searches asked from a chat app (kms.integrations), marked in the gap report
FILTERS = ("type", "category", "tag")
OWN_CHANGES_WAIT = 2.0  # seconds a search waits for this process's running drain
TYPE_LABELS = {"article": "Article", "process": "Process", "module": "Training module", "lesson": "Lesson"}


class SearchUnavailable(KmsError):
    """The search index is rebuilding; try again in a moment."""

    status = 503
    retry_after = 30


UNAVAILABLE = "Search is being rebuilt. Try again in a minute; everything else works as usual."


def _unavailable(index: SearchIndex, error: Exception) -> SearchUnavailable:
    index.request_rebuild()
    return SearchUnavailable(UNAVAILABLE)


def _printable(text: str | None) -> str:
    # Control characters (a NUL byte above all, which PostgreSQL text refuses) carry no meaning in a query.
    return "".join(ch if ch.isprintable() or ch in " \t" else " " for ch in (text or ""))


def normalize_query(text: str) -> str:
    """A search as the gap report groups it: printable, lower case, single spaces, capped."""
    return " ".join(_printable(text).lower().split())[:LOGGED_QUERY_CHARS]


@dataclass
class Outcome:
    """A search as the views show it."""

    query: str
    result: SearchResult
    filters: dict[str, str]
    duration_ms: int
    slugs: dict[str, str | None]
    log_id: int | None = None  # the logged search, for counting the results opened from it

    def label(self, name: str, value: str) -> str:
        """What a person reads for a facet or filter value: type 'module' -> 'Training module',
        category 'support-tickets' -> 'Support tickets' (as the documents write it); else the value."""
        key = normalize_keyword(value)
        if name == "type":
            return TYPE_LABELS.get(key, value)
        return self.result.facet_labels.get(name, {}).get(key, value)

    def is_active(self, name: str, value: str) -> bool:
        """Whether the filter ``name`` selects facet ``value``, however the filter was written."""
        return bool(self.filters.get(name)) and normalize_keyword(self.filters[name]) == value


def search(
    index: SearchIndex,
    query: str,
    *,
    actor: User,
    filters: dict[str, str] | None = None,
    page: int = 1,
    pagelen: int = 10,
    source: str = "page",
    secret: str | bytes = b"",
    asker_id: str | None = None,
) -> Outcome:
    """Search what the actor may open, log the search (without the actor) and return the outcome.

    ``secret`` keys the log's asker pseudonym (see asker_key); ``asker_id`` names the asker instead of the
    actor's id when the actor stands for someone kms does not know (a chat user: "slack:T1:U2"). Raises SearchUnavailable (503) while
    the index is missing or damaged, after asking for a rebuild."""
    query = (query or "").strip()[:MAX_QUERY]
    filters = {
        name: value.strip()[:100]
        for name, value in (filters or {}).items()
        if name in FILTERS and value and value.strip()
    }
    # The searcher's own save, just committed in this process, is shown if its drain ends in time.
    index.wait_for_drain(OWN_CHANGES_WAIT)
    started = time.perf_counter()
    try:
        result = index.engine().search(
            query, visibilities=visibilities_for(actor.role), filters=filters, page=page, pagelen=pagelen
        )
    except SearchIndexError as error:
        raise _unavailable(index, error) from None
    duration_ms = int((time.perf_counter() - started) * 1000)
    log_id = None
    if query and page == 1:
        log_id = log_search(
            query,
            results=result.total,
            duration_ms=duration_ms,
            role=actor.role.value,
            source=source,
            asker=asker_key(secret, actor.id if asker_id is None else asker_id, query),
        )
    return Outcome(query, result, filters, duration_ms, _slugs(result), log_id)


def asker_key(secret: str | bytes, user_id: int | str, query: str) -> str:
    """A pseudonym for one person asking one question: tells two askers of the same query apart, but
    links nothing between queries and names nobody without the site's secret."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    message = f"{user_id}\x00{normalize_query(query)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def _slugs(result: SearchResult) -> dict[str, str | None]:
    """doc id -> the item's slug (articles and modules have one) for the hits on this page."""
    wanted: dict[str, dict[int, str]] = {"article": {}, "module": {}}
    for hit in result.hits:
        prefix, _, number = hit.id.partition(":")
        if prefix in wanted and number.isdigit():
            wanted[prefix][int(number)] = hit.id
    out: dict[str, str | None] = {hit.id: None for hit in result.hits}
    for prefix, model in (("article", Article), ("module", Module)):
        if wanted[prefix]:
            for item_id, slug in db.session.execute(
                select(model.id, model.slug).where(model.id.in_(wanted[prefix]))
            ):
                out[wanted[prefix][item_id]] = slug
    return out


def suggest(index: SearchIndex, prefix: str, *, actor: User, limit: int = 8) -> list[TitleSuggestion]:
    """Titles of documents the actor may open whose words start with what was typed."""
    prefix = (prefix or "")[:200]
    if len(prefix.strip()) < 1:
        return []
    try:
        return index.engine().suggest_titles(prefix, visibilities=visibilities_for(actor.role), limit=limit)
    except SearchIndexError as error:
        raise _unavailable(index, error) from None


def log_search(
    query: str, *, results: int, duration_ms: int, role: str, source: str = "page", asker: str | None = None
) -> int:
    """Record one search: the words, the count, the time and the role, never the person; its id."""
    query = _printable(query)
    row = SearchLog(
        query=query[:LOGGED_QUERY_CHARS],
        normalized=normalize_query(query),
        results=results,
        duration_ms=duration_ms,
        role=role,
        source=source,
        created_at=utcnow(),
        asker=asker,
    )
    db.session.add(row)
    db.session.flush()
    return row.id


def record_open(log_id: int | None, *, actor: User, secret: str | bytes) -> bool:
    """Note that a result of search ``log_id`` was opened, if the actor made that search; True if noted.

    Only the searcher's own click counts (checked through the asker pseudonym), so nobody can clear
    other people's searches from the gap report."""
    if not log_id:
        return False
    row = db.session.get(SearchLog, log_id)
    if row is None or row.opened_at is not None or not row.asker:
        return False
    if not hmac.compare_digest(row.asker, asker_key(secret, actor.id, row.normalized)):
        return False
    row.opened_at = utcnow()
    db.session.flush()
    return True


def local_target(target: str | None) -> str:
    """The site-local path a result link points to; Invalid for anything that could leave the site
    (another host, a scheme, '//' or a backslash that browsers read as one)."""
    target = target or ""
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or len(target) > 2000
        or any(not ch.isprintable() or ch.isspace() for ch in target)
    ):
        raise Invalid("That link does not lead to a page of this site.", field="to")
    return target


@dataclass
class Gap:
    query: str
    searches: int
    best_results: int  # the most results any of these searches had
    last_searched: datetime
    process_exists: bool
    askers: int = 0  # different people who asked
    from_chat: int = 0  # of the searches, how many were asked from Slack or Teams


def gap_report(*, days: int = GAP_DAYS, limit: int = 50, now: datetime | None = None) -> list[Gap]:
    """The most frequent searches of the last `days` days that found nothing or little.

    A search counts only when no result of it was opened; a query is listed only when at least
    GAP_ASKERS different people asked it, no result of it was opened in the period, and it was asked
    again since an author last dismissed it."""
    since = (now or utcnow()) - timedelta(days=days)
    opened = select(SearchLog.normalized).where(
        SearchLog.created_at >= since, SearchLog.opened_at.is_not(None)
    )
    askers = func.count(func.distinct(SearchLog.asker))
    from_chat = func.sum(case((SearchLog.source.in_(CHAT_SOURCES), 1), else_=0))
    rows = db.session.execute(
        select(
            SearchLog.normalized,
            func.count(SearchLog.id),
            func.max(SearchLog.results),
            func.max(SearchLog.created_at),
            askers,
            from_chat,
        )
        .outerjoin(SearchGapDismissal, SearchGapDismissal.normalized == SearchLog.normalized)
        .where(
            SearchLog.created_at >= since,
            SearchLog.results <= FEW_RESULTS,
            SearchLog.normalized != "",
            SearchLog.opened_at.is_(None),
            SearchLog.normalized.not_in(opened),
            (SearchGapDismissal.id.is_(None)) | (SearchLog.created_at > SearchGapDismissal.dismissed_at),
        )
        .group_by(SearchLog.normalized)
        .having(askers >= GAP_ASKERS)
        .order_by(func.count(SearchLog.id).desc(), func.max(SearchLog.created_at).desc())
        .limit(limit)
    ).all()
    known = handbook.processes_named([_process_name(row[0]) for row in rows])
    return [
        Gap(query, count, best or 0, last, process_name_key(_process_name(query)) in known, people, chat or 0)
        for query, count, best, last, people, chat in rows
    ]


def dismiss_gap(query: str, *, actor: User) -> str:
    """Take a query off the gap report until it is asked again; the normalized query dismissed."""
    normalized = normalize_query(query)
    if not normalized:
        raise Invalid("Choose a search to dismiss.", field="query")
    dismissal = db.session.scalar(
        select(SearchGapDismissal).where(SearchGapDismissal.normalized == normalized)
    )
    if dismissal is None:
        dismissal = SearchGapDismissal(normalized=normalized)
        db.session.add(dismissal)
    dismissal.dismissed_at = utcnow()
    dismissal.dismissed_by_id = actor.id
    db.session.flush()
    return normalized


def _process_name(query: str) -> str:
    # Search syntax is not a process name: drop quotes, operators and filters.
    words = [
        w
        for w in re.split(r"\s+", query.replace('"', " "))
        if w and ":" not in w and w.upper() not in ("AND", "OR", "NOT")
    ]
    name = " ".join(w.lstrip("-!").rstrip("*") for w in words).strip()
    return (name[:1].upper() + name[1:])[:200]


def create_process_for_gap(query: str, *, category: str, actor: User, days: int = GAP_DAYS) -> Process:
    """Turn a searched-for topic into an undocumented process (it then shows in "document next").

    Its frequency is how often it was searched in the last `days` days, scaled to a month."""
    name = _process_name(normalize_query(query))
    if not name:
        raise Invalid("That search has no words to name a process after.", field="query")
    since = utcnow() - timedelta(days=days)
    searches = (
        db.session.scalar(
            select(func.count(SearchLog.id)).where(
                SearchLog.normalized == normalize_query(query), SearchLog.created_at >= since
            )
        )
        or 0
    )
    per_month = max(1, round(searches * 30 / max(days, 1)))
    fields = handbook.ProcessFields(
        name=name,
        category=category,
        frequency=min(per_month, 1000),
        owner_id=None,
        notes=f"Added from the search gap report: searched {searches} time(s) in the last {days} days "
        f"with few or no results.",
    )
    return handbook.create_process(fields, actor=actor)


def gap_categories() -> list[str]:
    """The handbook categories an author can file a process for a search gap under."""
    return handbook.category_names()


# ---- index maintenance (CLI and start-up)


def reindex(index: SearchIndex, progress=None, *, started_by: str = "kms reindex") -> tuple[int, float]:
    """Rebuild the index from the database into a fresh directory and swap it in; (count, seconds).
    `progress(stage, done, total)`, when given, hears how far the build is; the index folder keeps it too,
    for /search/health (`started_by` says there who started it)."""
    started = time.perf_counter()
    recorded = rebuilds.ProgressFile(index.root, started_by)

    def both(stage: str, done: int, total: int) -> None:
        recorded(stage, done, total)
        if progress is not None:
            progress(stage, done, total)

    try:
        count = index.rebuild(progress=both)
    except BaseException as error:
        recorded.fail(f"{type(error).__name__}: {error}" if isinstance(error, Exception) else "interrupted")
        raise
    seconds = time.perf_counter() - started
    recorded.finish(f"{count:,} documents in {seconds:.1f} s")
    return count, seconds


_starting = threading.Lock()


def start_rebuild(index: SearchIndex, *, started_by: str) -> threading.Thread | None:
    """Rebuild the index in a background thread of this process (an admin's button); None when a rebuild is
    already running on this server, by its progress in the index folder (the page then shows that one)."""
    with _starting:
        current = rebuilds.read_progress(index.root)
        if current is not None and current.running:
            return None
        rebuilds.ProgressFile(
            index.root, started_by
        )  # a second click, in any worker, sees it running at once
        app = index.app

        def run() -> None:
            with app.app_context():
                try:
                    count, seconds = reindex(index, started_by=started_by)
                    log.warning(
                        "search index rebuilt (%s): %d documents in %.1f s", started_by, count, seconds
                    )
                except Exception:
                    log.exception("search index rebuild (%s) failed", started_by)

        thread = threading.Thread(target=run, name="kms-search-web-rebuild", daemon=True)
        thread.start()
        return thread


def rebuild_progress(index: SearchIndex) -> rebuilds.RebuildProgress | None:
    """The latest rebuild on this server (running, done, failed or stopped), for /search/health."""
    return rebuilds.read_progress(index.root)


def check_index(index: SearchIndex, progress=None) -> Drift:
    """Compare the index with the database (raises SearchIndexError when it cannot be read)."""
    return index.drift(progress=progress)


def fix_index(index: SearchIndex, drift: Drift) -> int:
    """Write the drifted documents, and give quarantined ones another MAX_ATTEMPTS tries."""
    written = index.fix(drift)
    if drift.quarantined and index.retry_quarantined():
        index.drain_quietly(wait=index.drain_wait)
    return written


def log_servers(index: SearchIndex) -> list[ServerState]:
    """The servers following the search change log (several servers on one database)."""
    return index.servers()


def quarantined_documents(index: SearchIndex) -> list[Quarantined]:
    """Documents the index could not take after MAX_ATTEMPTS tries, with their last error."""
    return index.quarantined()


def ensure_index(index: SearchIndex) -> str | None:
    """Start-up: rebuild a missing, unreadable or out-of-date index; say what was done (None: nothing)."""
    try:
        index.engine().check()
        index.drain(wait=index.drain_wait)
        drift = index.drift()
    except SearchIndexError as error:
        count, seconds = reindex(index, started_by="the start-up check")
        why = "there was none" if isinstance(error, IndexMissingError) else f"it could not be read: {error}"
        return f"built the search index ({why}): {count} documents in {seconds:.1f} s"
    if drift.clean:
        return None
    count, seconds = reindex(index, started_by="the start-up check")
    return (
        f"rebuilt the out-of-date search index ({len(drift.missing)} missing, {len(drift.extra)} extra, "
        f"{len(drift.stale)} stale): {count} documents in {seconds:.1f} s"
    )


def ensure_index_in_background(index: SearchIndex) -> threading.Thread:
    """ensure_index() in a thread, so a server listens at once; searches answer 503 ("being rebuilt")
    until a missing index exists. Of several workers starting together, one does it."""

    def run() -> None:
        with index.app.app_context(), index.start_check_lock() as mine:
            if not mine:
                return
            try:
                message = ensure_index(index)
            except Exception:
                log.exception("checking the search index on start failed")
                return
            if message:
                log.warning("search index: %s", message)

    thread = threading.Thread(target=run, name="kms-search-start-check", daemon=True)
    thread.start()
    return thread
