"""Helpers shared by the handbook services: lookups and field checks on plain values."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from sqlalchemy import select
from sqlalchemy import text as sql

from kms.articles.models import Article, Category, Process, process_name_key
from kms.auth.models import Role, User
from kms.errors import Invalid, NotFound
from kms.extensions import db
from kms.markdown import is_slug, slugify
from kms.validate import text as check_text  # noqa: F401 - the services call common.check_text

DEFAULT_CATEGORIES = (
    "Onboarding",
    "Support tickets",
    "Escalations",
    "Renewals and churn",
    "Billing",
    "Feedback and metrics",
    "Internal ops",
)
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
OWNER_ROLES = frozenset({Role.ADMIN, Role.AUTHOR})
MAX_TAGS = 20
PROCESS_NAMES_LOCK = 0x6B6D5F70  # the PostgreSQL advisory lock that makes process-name checks take turns


def get_article(article_id: int) -> Article:
    """The article with this id, for any caller; NotFound when there is none."""
    article = db.session.get(Article, article_id)
    if article is None:
        raise NotFound("No such article.")
    return article


def get_process(process_id: int) -> Process:
    """The process with this id, for any caller; NotFound when there is none."""
    process = db.session.get(Process, process_id)
    if process is None:
        raise NotFound("No such process.")
    return process


def processes_named(names: list[str]) -> dict[str, Process]:
    """The processes whose names are the same as any of `names` (see process_name_key), keyed by that key."""
    keys = {process_name_key(name) for name in names if name.strip()}
    if not keys:
        return {}
    return {p.name_key: p for p in db.session.scalars(select(Process).where(Process.name_key.in_(keys)))}


def process_named(name: str) -> Process | None:
    """The process named `name`, ignoring case and spacing (see process_name_key)."""
    return processes_named([name]).get(process_name_key(name))


def lock_process_names() -> None:
    """Hold, until this transaction ends, the right to check a process name and then write it.

    The unique name_key is what guarantees one process per name. This lock only turns a race into a clear
    message: on PostgreSQL two people adding "Refund" and "REFUND" at the same moment would both pass the
    check, and the second would fail on the index with an error instead of "already exists". On SQLite
    the unit of work already holds the database's write lock. Call inside the caller's `unit_of_work()`.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sql("SELECT pg_advisory_xact_lock(:key)"), {"key": PROCESS_NAMES_LOCK})


def list_categories() -> list[Category]:
    """Every handbook category in the order editors set, for pickers and filters."""
    return list(db.session.scalars(select(Category).order_by(Category.position, Category.name)))


def category_names() -> list[str]:
    """The names of the handbook categories, in their order, for pickers and checks."""
    return [c.name for c in list_categories()]


def check_category(name: str, field: str = "category") -> str:
    """An editor's chosen category, checked to exist; Invalid naming the field otherwise."""
    name = (name or "").strip()
    if not name:
        raise Invalid("Choose a category.", field=field)
    if db.session.get(Category, name) is not None:
        return name
    same = [known for known in category_names() if known.lower() == name.lower()]
    if len(same) != 1:  # "billing" means "Billing"; with both "Billing" and "BILLING" it would be a guess
        raise Invalid(f"Unknown category {name!r}. Categories: {', '.join(category_names())}.", field=field)
    return same[0]


def list_owners(keep: int | None = None) -> list[User]:
    """People who can own processes and articles (active authors and admins), plus `keep`, the current owner,
    whatever their role or state: after a site move that is often a deactivated account still to invite."""
    allowed = User.active.is_(True) & User.role.in_(OWNER_ROLES)
    if keep:
        allowed = allowed | (User.id == keep)
    return list(db.session.scalars(select(User).where(allowed).order_by(User.name)))


def check_owner(owner_id: int | None, field: str = "owner_id", *, keep: int | None = None) -> int | None:
    """The owner to store: an active author or admin, or `keep` (the current owner), which stays as it is."""
    if not owner_id:
        return None
    user = db.session.get(User, owner_id)
    if user is None:
        raise Invalid("That owner does not exist.", field=field)
    if user.id == keep:
        return user.id
    if not user.active:
        raise Invalid(
            f"{user.name} is deactivated, so cannot become the owner; choose an active author or "
            "admin (an admin can reactivate and invite them from Users first).",
            field=field,
        )
    if user.role not in OWNER_ROLES:
        raise Invalid(f"{user.name} is a {user.role.value}; owners must be authors or admins.", field=field)
    return user.id


def check_frequency(value, field: str = "frequency") -> int:
    """A process's times-a-month figure, checked to be a whole number from 0 up."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 1_000_000:
        raise Invalid("Frequency must be a whole number of times a month, 0 or more.", field=field)
    return value


def check_slug(slug: str, field: str = "slug") -> str:
    """A slug as typed, case-folded: letters of any alphabet, digits and single hyphens, at most 100."""
    slug = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", (slug or "").strip()).casefold())
    if not is_slug(slug):
        raise Invalid(
            "Slug must be letters (of any alphabet), digits and single hyphens, at most 100 characters; "
            f"for example {slugify(slug) or 'refund-request'!r}.",
            field=field,
        )
    return slug


def check_language(value: str, field: str = "language") -> str:
    """An article's language tag (en, nb, zh-Hans ...), checked; English when empty."""
    value = (value or "en").strip()
    if not LANGUAGE_RE.match(value) or len(value) > 35:
        raise Invalid(
            f"Language must be a language tag such as en, nb or zh-Hans, got {value!r}.", field=field
        )
    return value


def check_interval(value, field: str = "verify_interval_days") -> int:
    """How many days an article stays verified, checked to be 1 to 3650."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3650:
        raise Invalid("Verification interval must be between 1 and 3650 days.", field=field)
    return value


def clean_tags(tags, field: str = "tags") -> list[str]:
    """An editor's tags (a list or comma-separated text) as a clean list without repeats."""
    if isinstance(tags, str):
        tags = tags.split(",")
    seen: list[str] = []
    for raw in tags or []:
        if not isinstance(raw, str):
            raise Invalid("Tags must be words or short phrases.", field=field)
        tag = " ".join(raw.strip().lower().split())
        if not tag:
            continue
        if len(tag) > 50:
            raise Invalid(f"Tag {tag[:20]!r}… is longer than 50 characters.", field=field)
        if tag not in seen:
            seen.append(tag)
    if len(seen) > MAX_TAGS:
        raise Invalid(f"At most {MAX_TAGS} tags.", field=field)
    return seen


def check_target_date(value, field: str = "target_date") -> date | None:
    """A process's optional target date, checked to be a date."""
    if value in (None, ""):
        return None
    if not isinstance(value, date):
        raise Invalid("Target date must be a date (YYYY-MM-DD).", field=field)
    return value
