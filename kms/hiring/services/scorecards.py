"""Scorecards: drafts saved as often as wanted, one submission that locks, amendments kept as revisions.

Only the assigned interviewer writes their scorecard. A rating is 1-4; ratings of 1 and 4 need written
evidence before submitting; red flags must come from the trait's list in the scorecard's rubric version.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from kms.auth.models import User
from kms.errors import Conflict, Invalid, NotFound
from kms.extensions import db, utcnow
from kms.hiring.models import (
    RATINGS,
    Candidate,
    Interview,
    InterviewerAssignment,
    Opening,
    Rating,
    Recommendation,
    RubricVersion,
    Scorecard,
    ScorecardRevision,
    ScorecardStatus,
    Trait,
)
from kms.hiring.services.access import HIDDEN, access_to, audit, record
from kms.hiring.services.rubric import current_rubric

EVIDENCE_NEEDED = (1, 4)


class AlreadySubmitted(Conflict):
    """This scorecard is already submitted; it is locked. Use 'Amend' to change it with a reason."""


@dataclass
class ScorecardContext:
    assignment: InterviewerAssignment
    candidate_id: int
    candidate_name: str
    opening_title: str
    interview_title: str
    rubric: RubricVersion
    traits: list[Trait]
    scorecard: Scorecard | None
    mine: bool
    changes: list[tuple[ScorecardRevision, list[str]]] = field(default_factory=list)

    @property
    def submitted(self) -> bool:
        return self.scorecard is not None and self.scorecard.status == ScorecardStatus.SUBMITTED

    def rating(self, key: str) -> Rating | None:
        if self.scorecard is None:
            return None
        return next((r for r in self.scorecard.ratings if r.trait_key == key), None)


def _assignment(assignment_id: int) -> tuple[InterviewerAssignment, str, str, str]:
    row = db.session.execute(
        select(InterviewerAssignment, Candidate.name, Opening.title, Interview.title)
        .join(Interview, Interview.id == InterviewerAssignment.interview_id)
        .join(Candidate, Candidate.id == InterviewerAssignment.candidate_id)
        .join(Opening, Opening.id == Candidate.opening_id)
        .where(InterviewerAssignment.id == assignment_id)
    ).first()
    if row is None:
        raise NotFound(HIDDEN)
    return row[0], row[1], row[2], row[3]


def _own_assignment(assignment_id: int, actor: User) -> InterviewerAssignment:
    assignment = db.session.get(InterviewerAssignment, assignment_id)
    if assignment is None or assignment.interviewer_id != actor.id:
        raise NotFound(HIDDEN)
    return assignment


def assigned_traits(assignment: InterviewerAssignment, rubric: RubricVersion) -> list[Trait]:
    """The traits this interviewer rates on this rubric (all of them when none were chosen)."""
    chosen = set(assignment.traits or [])
    return [t for t in rubric.traits if not chosen or t.key in chosen]


def open_scorecard(assignment_id: int, *, actor: User) -> ScorecardContext:
    """The scorecard of an assignment with the rubric it is scored against. The interviewer sees their own;
    others see it only when submitted and they may see scores for the candidate (independence)."""
    assignment, name, opening, interview = _assignment(assignment_id)
    mine = assignment.interviewer_id == actor.id
    scorecard = db.session.scalar(
        select(Scorecard)
        .options(
            selectinload(Scorecard.ratings),
            selectinload(Scorecard.revisions).joinedload(ScorecardRevision.created_by),
        )
        .where(Scorecard.assignment_id == assignment.id)
    )
    if not mine:
        access = access_to(assignment.candidate_id, actor)
        if not access.sees_scores or scorecard is None or scorecard.status != ScorecardStatus.SUBMITTED:
            raise NotFound(HIDDEN)
    if scorecard is not None:
        rubric = db.session.scalar(
            select(RubricVersion)
            .options(selectinload(RubricVersion.traits))
            .where(RubricVersion.id == scorecard.rubric_version_id)
        )
    else:
        rubric = current_rubric()
        if rubric is None:
            raise NotFound("There is no rubric yet; an admin must import content/hiring first.")
    context = ScorecardContext(
        assignment,
        assignment.candidate_id,
        name,
        opening,
        interview,
        rubric,
        assigned_traits(assignment, rubric),
        scorecard,
        mine,
    )
    if scorecard is not None:
        context.changes = revision_changes(scorecard.revisions, context.traits)
        if not mine:
            audit(actor, "viewed", "scorecard", assignment.candidate_id, f"scorecard {scorecard.id}")
    return context


INPUT_FIELDS = ("ratings", "recommendation", "summary")
RATING_FIELDS = ("rating", "question", "evidence", "red_flags")


def _shape_errors(data: dict, traits: list[Trait]) -> dict[str, str]:
    """Unknown fields and values of the wrong type, by field name: an API client's typo is never dropped
    silently (nor saved as an empty draft over the one it meant to change)."""
    errors: dict[str, str] = {}
    for name in data:
        if name not in INPUT_FIELDS:
            errors[str(name)] = f"Unknown field '{name}' (use {', '.join(INPUT_FIELDS)})."
    if not isinstance(data.get("summary") or "", str):
        errors["summary"] = "The summary must be text."
    ratings = data.get("ratings") or {}
    if not isinstance(ratings, dict):
        errors["ratings"] = (
            'ratings must be an object with an entry per trait, e.g. {"drive": {"rating": 3}}.'
        )
        return errors
    keys = [trait.key for trait in traits]
    for key, raw in ratings.items():
        if key not in keys:
            errors[f"{key}-rating"] = f"'{key}' is not a trait on this scorecard (yours: {', '.join(keys)})."
        elif not isinstance(raw or {}, dict):
            errors[f"{key}-rating"] = f"ratings.{key} must be an object with {', '.join(RATING_FIELDS)}."
        else:
            for name, value in (raw or {}).items():
                if name not in RATING_FIELDS:
                    errors[f"{key}-{name}"] = (
                        f"Unknown field 'ratings.{key}.{name}' (use {', '.join(RATING_FIELDS)})."
                    )
                elif name in ("question", "evidence") and not isinstance(value or "", str):
                    errors[f"{key}-{name}"] = f"ratings.{key}.{name} must be text."
                elif name == "red_flags" and not isinstance(value or [], list | str):
                    errors[f"{key}-{name}"] = (
                        f"ratings.{key}.red_flags must be a list of red flags from the rubric."
                    )
    return errors


def _clean_input(data: dict, traits: list[Trait], *, final: bool) -> tuple[dict, dict[str, str]]:
    """Normalise a scorecard's input; returns (values, errors by field name)."""
    errors = _shape_errors(data, traits)
    if errors:
        return {}, errors
    ratings_in = data.get("ratings") or {}
    if not isinstance(ratings_in, dict):
        ratings_in = {}
    values = {"ratings": {}, "recommendation": None, "summary": ""}
    for trait in traits:
        raw = ratings_in.get(trait.key) or {}
        if not isinstance(raw, dict):
            raw = {}
        rating = raw.get("rating")
        if rating in (None, ""):
            rating = None
        else:
            try:
                rating = int(str(rating).strip())
            except ValueError:
                rating = -1
            if rating not in RATINGS:
                errors[f"{trait.key}-rating"] = f"{trait.name}: the rating must be 1, 2, 3 or 4."
                rating = None
        question = str(raw.get("question") or "").strip()
        evidence = str(raw.get("evidence") or "").strip()
        if len(question) > 2000:
            errors[f"{trait.key}-question"] = f"{trait.name}: the question must be at most 2000 characters."
        if len(evidence) > 10000:
            errors[f"{trait.key}-evidence"] = f"{trait.name}: the evidence must be at most 10000 characters."
        flags = raw.get("red_flags") or []
        if isinstance(flags, str):
            flags = [flags]
        flags = [str(f) for f in flags if str(f).strip()]
        unknown = [f for f in flags if f not in trait.red_flags]
        if unknown:
            errors[f"{trait.key}-red_flags"] = f"{trait.name}: tick only red flags from the rubric."
        if final:
            if rating is None and f"{trait.key}-rating" not in errors:
                errors[f"{trait.key}-rating"] = f"{trait.name}: choose a rating from 1 to 4."
            elif rating in EVIDENCE_NEEDED and not evidence:
                errors[f"{trait.key}-evidence"] = (
                    f"{trait.name}: a rating of {rating} needs written evidence: "
                    "what did the candidate say or do?"
                )
        values["ratings"][trait.key] = {
            "rating": rating,
            "question": question,
            "evidence": evidence,
            "red_flags": [f for f in trait.red_flags if f in flags],
        }
    recommendation = data.get("recommendation") or None
    if recommendation is not None:
        try:
            values["recommendation"] = Recommendation(recommendation)
        except ValueError:
            errors["recommendation"] = "Recommendation must be strong no, no, yes or strong yes."
    elif final:
        errors["recommendation"] = "Choose an overall recommendation."
    summary = str(data.get("summary") or "").strip()
    if len(summary) > 10000:
        errors["summary"] = "The summary must be at most 10000 characters."
    values["summary"] = summary
    return values, errors


def _raise(errors: dict[str, str]) -> None:
    if errors:
        first = next(iter(errors))
        count = len(errors)
        raise Invalid(
            errors[first] if count == 1 else f"{count} answers need attention: {errors[first]}",
            field=first,
            errors=errors,
        )


def _apply(scorecard: Scorecard, values: dict) -> None:
    existing = {r.trait_key: r for r in scorecard.ratings}
    for key, item in values["ratings"].items():
        row = existing.get(key)
        if row is None:
            row = Rating(trait_key=key)
            scorecard.ratings.append(row)
        row.rating, row.question, row.evidence = item["rating"], item["question"], item["evidence"]
        row.red_flags = list(item["red_flags"])
    scorecard.recommendation = values["recommendation"]
    scorecard.summary = values["summary"]
    scorecard.updated_at = utcnow()


def _snapshot(scorecard: Scorecard) -> dict:
    return {
        "recommendation": scorecard.recommendation.value if scorecard.recommendation else None,
        "summary": scorecard.summary,
        "ratings": {
            r.trait_key: {
                "rating": r.rating,
                "question": r.question,
                "evidence": r.evidence,
                "red_flags": list(r.red_flags),
            }
            for r in scorecard.ratings
        },
    }


def _load_for_write(assignment: InterviewerAssignment, actor: User) -> tuple[Scorecard, list[Trait]]:
    # FOR UPDATE (PostgreSQL; SQLite already holds the write lock): a save and a submit never interleave.
    scorecard = db.session.scalar(
        select(Scorecard)
        .options(selectinload(Scorecard.ratings))
        .where(Scorecard.assignment_id == assignment.id)
        .with_for_update(of=Scorecard)
    )
    if scorecard is None:
        rubric = current_rubric()
        if rubric is None:
            raise NotFound("There is no rubric yet; an admin must import content/hiring first.")
        scorecard = Scorecard(
            assignment_id=assignment.id,
            candidate_id=assignment.candidate_id,
            interviewer_id=actor.id,
            rubric_version_id=rubric.id,
            status=ScorecardStatus.DRAFT,
        )
        db.session.add(scorecard)
    else:
        rubric = db.session.scalar(
            select(RubricVersion)
            .options(selectinload(RubricVersion.traits))
            .where(RubricVersion.id == scorecard.rubric_version_id)
        )
    return scorecard, assigned_traits(assignment, rubric)


def _flush_once() -> None:
    # On an error the session is unusable: the caller's unit of work rolls the whole use case back.
    try:
        db.session.flush()
    except IntegrityError:  # the first save of this scorecard happened at the same moment in another tab
        raise Conflict(
            "This scorecard was saved at the same moment elsewhere; reload and try again."
        ) from None


def save_draft(assignment_id: int, data: dict, *, actor: User) -> Scorecard:
    """Save what the interviewer has so far (partial answers allowed, but no out-of-range values).
    Refused once submitted."""
    assignment = _own_assignment(assignment_id, actor)
    scorecard, traits = _load_for_write(assignment, actor)
    if scorecard.status == ScorecardStatus.SUBMITTED:
        raise AlreadySubmitted()
    values, errors = _clean_input(data, traits, final=False)
    _raise(errors)
    _apply(scorecard, values)
    _flush_once()
    return scorecard


def submit_scorecard(assignment_id: int, data: dict, *, actor: User) -> Scorecard:
    """Submit and lock the scorecard: every assigned trait rated, evidence for 1s and 4s, a recommendation.
    A second submission (another tab, a double click) is refused with AlreadySubmitted."""
    assignment = _own_assignment(assignment_id, actor)
    scorecard, traits = _load_for_write(assignment, actor)
    if scorecard.status == ScorecardStatus.SUBMITTED:
        raise AlreadySubmitted()
    values, errors = _clean_input(data, traits, final=True)
    _raise(errors)
    _apply(scorecard, values)
    db.session.flush()
    now = utcnow()
    # Only one request can move draft -> submitted, even when two arrive at once.
    moved = db.session.execute(
        update(Scorecard)
        .where(Scorecard.id == scorecard.id, Scorecard.status == ScorecardStatus.DRAFT)
        .values(status=ScorecardStatus.SUBMITTED, submitted_at=now, revision=1)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        raise AlreadySubmitted()  # the caller's unit of work rolls back what this call flushed
    db.session.add(
        ScorecardRevision(
            scorecard_id=scorecard.id,
            number=1,
            snapshot=_snapshot(scorecard),
            reason="Submitted",
            created_by_id=actor.id,
        )
    )
    record(actor, "changed", "scorecard", assignment.candidate_id, f"scorecard {scorecard.id} submitted")
    _flush_once()
    db.session.refresh(scorecard)
    return scorecard


def amend_scorecard(assignment_id: int, data: dict, reason: str, *, actor: User) -> Scorecard:
    """Change a submitted scorecard; the new state is kept as the next logged revision with the reason.
    The same checks as submitting apply."""
    reason = (reason or "").strip()
    assignment = _own_assignment(assignment_id, actor)
    scorecard, traits = _load_for_write(assignment, actor)
    if scorecard.status != ScorecardStatus.SUBMITTED:
        raise Conflict("Only a submitted scorecard can be amended; this one is still a draft.")
    values, errors = _clean_input(data, traits, final=True)
    if not reason:
        errors["reason"] = "Say why you are amending a submitted scorecard."
    elif len(reason) > 2000:
        errors["reason"] = "The reason must be at most 2000 characters."
    _raise(errors)
    before = _snapshot(scorecard)
    _apply(scorecard, values)
    after = _snapshot(scorecard)
    if before == after:
        raise Invalid("Nothing changed, so there is nothing to amend.")
    scorecard.revision += 1
    db.session.add(
        ScorecardRevision(
            scorecard_id=scorecard.id,
            number=scorecard.revision,
            snapshot=after,
            reason=reason,
            created_by_id=actor.id,
        )
    )
    record(
        actor,
        "changed",
        "scorecard",
        assignment.candidate_id,
        f"scorecard {scorecard.id} amended (revision {scorecard.revision})",
    )
    try:
        db.session.flush()
    except IntegrityError:  # the caller's unit of work rolls back
        raise Conflict("Someone amended this scorecard at the same moment; reload and try again.") from None
    return scorecard


def revision_changes(
    revisions: list[ScorecardRevision], traits: list[Trait]
) -> list[tuple[ScorecardRevision, list[str]]]:
    """Each revision with a plain-language list of what changed against the one before it."""
    names = {t.key: t.name for t in traits}
    out = []
    previous = None
    for revision in revisions:
        snap = revision.snapshot or {}
        changes = []
        if previous is None:
            changes.append("Submitted")
        else:
            if previous.get("recommendation") != snap.get("recommendation"):
                changes.append(
                    f"Recommendation {previous.get('recommendation')} → {snap.get('recommendation')}"
                )
            if previous.get("summary") != snap.get("summary"):
                changes.append("Summary edited")
            for key, item in (snap.get("ratings") or {}).items():
                old = (previous.get("ratings") or {}).get(key, {})
                label = names.get(key, key)
                if old.get("rating") != item.get("rating"):
                    changes.append(f"{label} rating {old.get('rating')} → {item.get('rating')}")
                for part in ("question", "evidence"):
                    if old.get(part) != item.get(part):
                        changes.append(f"{label} {part} edited")
                if old.get("red_flags") != item.get("red_flags"):
                    changes.append(f"{label} red flags changed")
        out.append((revision, changes))
        previous = snap
    return out
