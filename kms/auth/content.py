"""The people.yml file of a content folder: who owns and verifies the content, so a whole site can move.

Export writes each person's name, email, role, team and time zone, never a password, token or hash. Import
follows the report's owner policy for owners this site does not know:
  create  - people.yml's missing people, and any other unknown owner, become deactivated accounts to invite;
  clear   - the owner is left empty, with a warning naming the file;
  require - the import fails (the site must have every owner already).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from kms.auth.models import Role, User
from kms.auth.services import EMAIL_RE, normalise_email
from kms.errors import Invalid
from kms.extensions import db
from kms.frontmatter import ContentError, ImportReport, load_yaml, write_yaml
from kms.timezones import known_zones

OWNER_POLICIES = ("create", "clear", "require")
PEOPLE_FILE = "people.yml"
PERSON_KEYS = {"email", "name", "role", "team", "time_zone"}


def export_people(root: Path) -> int:
    """Write people.yml: every account's public details (no secrets); returns the number of files written."""
    people = []
    for user in db.session.scalars(select(User).order_by(User.email)):
        # No `active`: everyone an import adds starts deactivated, so a moved site exports the same file.
        people.append(
            {
                "email": user.email,
                "name": user.name,
                "role": user.role.value,
                "team": user.team,
                "time_zone": user.time_zone,
            }
        )
    write_yaml(Path(root) / PEOPLE_FILE, people)
    return 1


def _person(path: Path, item, index: int) -> dict:
    where = f"people[{index}]"
    if not isinstance(item, dict):
        raise ContentError(path, "each person needs email, name and role", field=where)
    extra = sorted(str(key) for key in item if key not in PERSON_KEYS)
    if extra:
        raise ContentError(
            path,
            f"unknown field (expected one of: {', '.join(sorted(PERSON_KEYS))})",
            field=f"{where}.{extra[0]}",
        )
    email = normalise_email(str(item.get("email") or ""))
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise ContentError(path, f"not an email address: {item.get('email')!r}", field=f"{where}.email")
    name = str(item.get("name") or "").strip()
    if not name or len(name) > 120:
        raise ContentError(path, "a name is required (at most 120 characters)", field=f"{where}.name")
    try:
        role = Role(item.get("role") or Role.MEMBER.value)
    except ValueError:
        raise ContentError(
            path,
            f"unknown role {item.get('role')!r} (use {', '.join(r.value for r in Role)})",
            field=f"{where}.role",
        ) from None
    time_zone = str(item.get("time_zone") or "UTC")
    if time_zone not in known_zones():
        raise ContentError(path, f"unknown time zone {time_zone!r}", field=f"{where}.time_zone")
    return {
        "email": email,
        "name": name,
        "role": role,
        "team": str(item.get("team") or "").strip()[:80],
        "time_zone": time_zone,
    }


def read_people(root: Path) -> dict[str, dict]:
    """The people listed in root/people.yml, checked, by email ({} without the file)."""
    path = Path(root) / PEOPLE_FILE
    if not path.exists():
        return {}
    items = load_yaml(path) or []
    if not isinstance(items, list):
        raise ContentError(path, "must be a list of people", line=1)
    people = [_person(path, item, index) for index, item in enumerate(items)]
    return {person["email"]: person for person in people}


def import_people(root: Path, report: ImportReport) -> None:
    """With the `create` policy, add people.yml's missing people as deactivated accounts (no password)."""
    listed = read_people(root)
    report.people = listed
    if report.owners != "create" or not listed:
        return
    known = set(db.session.scalars(select(User.email).where(User.email.in_(list(listed)))))
    for email, person in listed.items():
        if email in known:
            report.add("people", "unchanged")
            continue
        db.session.add(User(**person, active=False))
        report.add("people", "created")
    db.session.flush()


def unknown_owner(email: str, report: ImportReport, where: str) -> int | None:
    """The user id to use for an owner email this site lacks, per the policy (`require` is the caller's)."""
    email = normalise_email(email)
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise Invalid(f"owner {email!r} is not an email address")
    if report.owners == "clear":
        report.warn(f"{where}: owner {email} has no account here; left empty")
        return None
    person = report.people.get(email) or {
        "email": email,
        "name": email.split("@")[0][:120],
        "role": Role.AUTHOR,
        "team": "",
        "time_zone": "UTC",
    }
    user = User(**person, active=False)
    db.session.add(user)
    db.session.flush()
    report.add("people", "created")
    report.warn(
        f"{where}: created a deactivated account for owner {email}; an admin reactivates and "
        "invites it from Users"
    )
    return user.id
