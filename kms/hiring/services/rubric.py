"""The traits rubric: versioned, imported from and exported to content/hiring/<trait>.md, edited by admins.

Every change (an import that differs, or an admin's edit) makes a new, complete rubric version; old versions are
never changed, so a scorecard always shows the wording it was scored against.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from kms.auth.models import Role, User
from kms.auth.system import SYSTEM, SystemActor
from kms.errors import Conflict, Forbidden, Invalid, NotFound
from kms.extensions import db
from kms.hiring.models import RATINGS, RubricVersion, Trait
from kms.hiring.services.access import record

KEY_RE = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
TEXT_FIELDS = ("name", "definition", "strong_answer", "weak_answer", "guidance")
LIST_FIELDS = ("questions", "green_flags", "red_flags")
COMPARED = (
    "key",
    "name",
    "position",
    "definition",
    "questions",
    "strong_answer",
    "weak_answer",
    "green_flags",
    "red_flags",
    "scale",
    "guidance",
)


def current_rubric() -> RubricVersion | None:
    """The newest rubric version with its traits in order (two queries), or None before any import."""
    return db.session.scalar(
        select(RubricVersion)
        .options(selectinload(RubricVersion.traits))
        .order_by(RubricVersion.number.desc())
        .limit(1)
    )


def rubric_version(number: int) -> RubricVersion:
    """One numbered version of the rubric with its traits, for the rubric page."""
    version = db.session.scalar(
        select(RubricVersion)
        .options(selectinload(RubricVersion.traits))
        .where(RubricVersion.number == number)
    )
    if version is None:
        raise NotFound("No such rubric version.")
    return version


def list_versions() -> list[RubricVersion]:
    """Every rubric version, newest first, with who made it."""
    return list(
        db.session.scalars(
            select(RubricVersion)
            .options(selectinload(RubricVersion.created_by))
            .order_by(RubricVersion.number.desc())
        )
    )


def _text(value, name: str, where: str, *, required: bool = True, limit: int = 20000) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str | int | float):
        raise Invalid(f"{where}: {name} must be text.", field=name)
    value = str(value).strip()
    if required and not value:
        raise Invalid(f"{where}: {name} is required.", field=name)
    if len(value) > limit:
        raise Invalid(f"{where}: {name} is longer than {limit} characters.", field=name)
    return value


def _lines(value, name: str, where: str, *, required: bool) -> list[str]:
    if value is None:
        value = []
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list):
        raise Invalid(f"{where}: {name} must be a list.", field=name)
    items = [_text(item, name, where, limit=2000) for item in value if str(item or "").strip()]
    if required and not items:
        raise Invalid(f"{where}: {name} needs at least one entry.", field=name)
    return items


def clean_trait(data: dict, where: str) -> dict:
    """Check one trait's fields (from a file or the edit form); returns the normalised values or Invalid."""
    key = str(data.get("key") or "").strip()
    if not KEY_RE.match(key):
        raise Invalid(f"{where}: key must be lowercase letters, digits or hyphens.", field="key")
    try:
        position = int(data.get("position", data.get("order", 0)) or 0)
    except (TypeError, ValueError):
        raise Invalid(f"{where}: order must be a whole number.", field="order") from None
    scale = data.get("scale") or {}
    if not isinstance(scale, dict):
        raise Invalid(f"{where}: scale must map 1, 2, 3 and 4 to descriptions.", field="scale")
    scale = {str(k).strip(): v for k, v in scale.items()}
    if set(scale) != {str(n) for n in RATINGS}:
        raise Invalid(
            f"{where}: scale must describe exactly the points 1, 2, 3 and 4 (no neutral middle).",
            field="scale",
        )
    return {
        "key": key,
        "position": position,
        "name": _text(data.get("name"), "name", where, limit=80),
        "definition": _text(data.get("definition"), "definition", where),
        "strong_answer": _text(data.get("strong_answer"), "strong_answer", where),
        "weak_answer": _text(data.get("weak_answer"), "weak_answer", where),
        "guidance": _text(data.get("guidance"), "guidance", where, required=False, limit=100000),
        "questions": _lines(data.get("questions"), "questions", where, required=True),
        "green_flags": _lines(data.get("green_flags"), "green_flags", where, required=False),
        "red_flags": _lines(data.get("red_flags"), "red_flags", where, required=False),
        "scale": {str(n): _text(scale[str(n)], f"scale {n}", where, limit=2000) for n in RATINGS},
    }


def _as_dict(trait: Trait) -> dict:
    return {name: getattr(trait, name) for name in COMPARED}


def _new_version(traits: list[dict], note: str, actor: User | SystemActor) -> RubricVersion:
    number = (db.session.scalar(select(func.max(RubricVersion.number))) or 0) + 1
    version = RubricVersion(number=number, note=note[:300], created_by_id=actor.id if actor else None)
    version.traits = [Trait(**values) for values in sorted(traits, key=lambda t: (t["position"], t["key"]))]
    db.session.add(version)
    return version


def import_content(root: Path, report) -> None:
    """Read content/hiring/*.md into a new rubric version when anything differs; runs in the caller's
    transaction (kms.content commits or rolls back the whole import)."""
    from kms.frontmatter import ContentError, read_front_matter

    folder = Path(root) / "hiring"
    files = sorted(folder.glob("*.md")) if folder.is_dir() else []
    if not files:
        return
    traits = []
    for path in files:
        meta, body = read_front_matter(path)
        try:
            values = clean_trait({**meta, "guidance": body}, path.name)
        except Invalid as error:
            raise ContentError(path, error.message.split(": ", 1)[-1], field=error.field) from None
        if values["key"] != path.stem:
            raise ContentError(path, f"key '{values['key']}' must match the file name", field="key")
        traits.append(values)
    current = current_rubric()
    before = {t.key: _as_dict(t) for t in current.traits} if current else {}
    after = {t["key"]: t for t in traits}
    if before == after:
        for _ in traits:
            report.add("hiring traits", "unchanged")
        return
    _new_version(traits, "Imported from content/hiring", SYSTEM)
    for key, values in after.items():
        report.add(
            "hiring traits",
            "unchanged" if before.get(key) == values else "updated" if key in before else "created",
        )


def export_content(root: Path) -> int:
    """Write the current rubric to <root>/hiring/<key>.md in the format import reads; returns the count."""
    from kms.frontmatter import write_front_matter

    current = current_rubric()
    if current is None:
        return 0
    for trait in current.traits:
        meta = {
            "key": trait.key,
            "name": trait.name,
            "order": trait.position,
            "definition": trait.definition,
            "questions": list(trait.questions),
            "strong_answer": trait.strong_answer,
            "weak_answer": trait.weak_answer,
            "green_flags": list(trait.green_flags),
            "red_flags": list(trait.red_flags),
            "scale": {n: trait.scale[str(n)] for n in RATINGS},
        }
        write_front_matter(Path(root) / "hiring" / f"{trait.key}.md", meta, trait.guidance)
    return len(current.traits)


def load_rubric_from(root: Path) -> RubricVersion | None:
    """Import only the rubric from a content folder (used by the demo seeder)."""
    from kms.frontmatter import ImportReport

    import_content(Path(root), ImportReport())
    db.session.flush()
    return current_rubric()


def update_trait(key: str, fields: dict, *, base_version: int, note: str, actor: User) -> RubricVersion:
    """An admin's edit of one trait: makes the next rubric version with the other traits copied unchanged.
    Refused with Conflict when someone else changed the rubric since `base_version` was shown."""
    if actor.role != Role.ADMIN:
        raise Forbidden("Only admins edit the rubric.")
    note = (note or "").strip()
    if not note:
        raise Invalid("Say in a few words what changed and why.", field="note")
    current = current_rubric()
    if current is None:
        raise NotFound("There is no rubric yet; import content/hiring first.")
    if current.number != base_version:
        raise Conflict(
            f"The rubric changed (now version {current.number}) since you opened it. "
            "Your text is still in the form; compare and save again."
        )
    traits = [_as_dict(t) for t in current.traits]
    target = next((t for t in traits if t["key"] == key), None)
    if target is None:
        raise NotFound("No such trait.")
    edited = clean_trait({**target, **fields, "key": key}, target["name"])
    if edited == target:
        raise Invalid("Nothing changed.")
    target.update(edited)
    version = _new_version(traits, note, actor)
    record(actor, "changed", "rubric", detail=f"trait {key}, version {version.number}")
    db.session.flush()
    return version
