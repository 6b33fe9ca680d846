"""The debrief of one candidate and the side-by-side comparison of an opening's candidates.

Aggregates use submitted scorecards only. Per trait: every rating, the mean, the spread (highest minus lowest),
a disagreement flag when ratings differ by 2 or more, and a "can't be taught" flag on the candidate when any
trait's mean is below 2. Both pages run a fixed number of queries, however many interviewers or candidates.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from kms.auth.models import User
from kms.errors import NotFound
from kms.extensions import db
from kms.hiring.models import (
    Candidate,
    Interview,
    InterviewerAssignment,
    Opening,
    Rating,
    Recommendation,
    Scorecard,
    ScorecardStatus,
)
from kms.hiring.services.access import HIDDEN, Access, access_to, audit, blind_to, require_lead
from kms.hiring.services.rubric import current_rubric

DISAGREEMENT = 2  # ratings this far apart need a conversation
TEACHABLE_MEAN = 2  # a trait mean below this cannot be trained up


@dataclass
class TraitStat:
    key: str
    name: str
    ratings: list[int] = field(default_factory=list)
    entries: list[dict] = field(default_factory=list)  # interviewer, rating, question, evidence, red_flags

    @property
    def mean(self) -> float | None:
        return round(sum(self.ratings) / len(self.ratings), 2) if self.ratings else None

    @property
    def spread(self) -> int | None:
        return max(self.ratings) - min(self.ratings) if self.ratings else None

    @property
    def disagreement(self) -> bool:
        return self.spread is not None and self.spread >= DISAGREEMENT

    @property
    def cant_be_taught(self) -> bool:
        return self.mean is not None and self.mean < TEACHABLE_MEAN

    @property
    def red_flags(self) -> list[tuple[str, str]]:
        return [(flag, entry["interviewer"]) for entry in self.entries for flag in entry["red_flags"]]


@dataclass
class Aggregate:
    traits: list[TraitStat]
    tally: dict[Recommendation, int]

    @property
    def cant_be_taught(self) -> bool:
        return any(t.cant_be_taught for t in self.traits)

    @property
    def scored(self) -> bool:
        return any(t.ratings for t in self.traits)

    def trait(self, key: str) -> TraitStat | None:
        return next((t for t in self.traits if t.key == key), None)


def _trait_names() -> list[tuple[str, str]]:
    rubric = current_rubric()
    return [(t.key, t.name) for t in rubric.traits] if rubric else []


def aggregate(
    trait_names: list[tuple[str, str]],
    rows: list[tuple[str, str, int | None, str, str, list]],
    recommendations: list[Recommendation | None],
) -> Aggregate:
    """Pure aggregation: rows are (interviewer, trait key, rating, question, evidence, red flags)."""
    stats = {key: TraitStat(key, name) for key, name in trait_names}
    for interviewer, key, rating, question, evidence, flags in rows:
        stat = stats.setdefault(key, TraitStat(key, key.title()))
        if rating is not None:
            stat.ratings.append(rating)
        stat.entries.append(
            {
                "interviewer": interviewer,
                "rating": rating,
                "question": question,
                "evidence": evidence,
                "red_flags": list(flags or []),
            }
        )
    counts = Counter(r for r in recommendations if r is not None)
    return Aggregate(list(stats.values()), {r: counts.get(r, 0) for r in Recommendation})


@dataclass
class Debrief:
    candidate: Candidate
    access: Access
    aggregate: Aggregate | None  # None while the viewer may not see scores
    scorecards: list[tuple[InterviewerAssignment, User, Scorecard | None]]
    summaries: list[tuple[str, Recommendation | None, str]]

    @property
    def pending(self) -> list[str]:
        return [
            user.name
            for _, user, card in self.scorecards
            if card is None or card.status != ScorecardStatus.SUBMITTED
        ]


def debrief(candidate_id: int, *, actor: User) -> Debrief:
    """Everything the team learned about one candidate. An interviewer with an unsubmitted scorecard gets
    the page without any score, note or aggregate (independence); audited as a view."""
    access = access_to(candidate_id, actor)
    audit(actor, "viewed", "debrief", candidate_id)
    candidate = db.session.scalar(
        select(Candidate)
        .options(joinedload(Candidate.opening), joinedload(Candidate.decided_by))
        .where(Candidate.id == candidate_id)
    )
    if candidate is None:
        raise NotFound(HIDDEN)
    cards = db.session.execute(
        select(InterviewerAssignment, User, Scorecard)
        .join(User, User.id == InterviewerAssignment.interviewer_id)
        .join(Interview, Interview.id == InterviewerAssignment.interview_id)
        .outerjoin(Scorecard, Scorecard.assignment_id == InterviewerAssignment.id)
        .where(InterviewerAssignment.candidate_id == candidate_id)
        .order_by(Interview.id, InterviewerAssignment.id)
    ).all()
    if not access.sees_scores:
        return Debrief(candidate, access, None, [tuple(c) for c in cards], [])
    submitted = [
        (user.name, card.recommendation, card.summary)
        for _, user, card in cards
        if card is not None and card.status == ScorecardStatus.SUBMITTED
    ]
    result = aggregate(_trait_names(), _submitted_rows(candidate_id), [rec for _, rec, _ in submitted])
    return Debrief(candidate, access, result, [tuple(c) for c in cards], submitted)


def _submitted_rows(candidate_id: int) -> list[tuple]:
    return [
        tuple(row)
        for row in db.session.execute(
            select(
                User.name, Rating.trait_key, Rating.rating, Rating.question, Rating.evidence, Rating.red_flags
            )
            .join(Scorecard, Scorecard.id == Rating.scorecard_id)
            .join(User, User.id == Scorecard.interviewer_id)
            .where(Scorecard.candidate_id == candidate_id, Scorecard.status == ScorecardStatus.SUBMITTED)
            .order_by(Scorecard.id, Rating.id)
        )
    ]


def submitted_aggregate(candidate_id: int) -> Aggregate:
    """The aggregate of a candidate's submitted scorecards, without an access check or audit entry: for
    services that have checked access and show only a conclusion drawn from it."""
    recommendations = list(
        db.session.scalars(
            select(Scorecard.recommendation).where(
                Scorecard.candidate_id == candidate_id, Scorecard.status == ScorecardStatus.SUBMITTED
            )
        )
    )
    return aggregate(_trait_names(), _submitted_rows(candidate_id), recommendations)


@dataclass
class ComparisonRow:
    candidate: Candidate
    aggregate: Aggregate | None  # None: the viewer has a pending scorecard for this candidate
    submitted: int


def compare_opening(
    opening_id: int, *, actor: User
) -> tuple[Opening, list[tuple[str, str]], list[ComparisonRow]]:
    """All candidates of one opening side by side (trait means, flags, recommendations); leads only.
    Candidates the viewer still has to score are shown without scores."""
    require_lead(actor)
    audit(actor, "viewed", "comparison", detail=f"opening {opening_id}")
    opening = db.session.get(Opening, opening_id)
    if opening is None:
        raise NotFound("No such opening.")
    candidates = list(
        db.session.scalars(
            select(Candidate).where(Candidate.opening_id == opening_id).order_by(Candidate.name)
        )
    )
    pending = blind_to(actor.id, select(Candidate.id).where(Candidate.opening_id == opening_id))
    # Only what the table shows: no evidence text is loaded, which keeps large roles fast.
    rows = db.session.execute(
        select(Scorecard.candidate_id, Rating.trait_key, Rating.rating, Rating.red_flags)
        .join(Scorecard, Scorecard.id == Rating.scorecard_id)
        .join(Candidate, Candidate.id == Scorecard.candidate_id)
        .where(Candidate.opening_id == opening_id, Scorecard.status == ScorecardStatus.SUBMITTED)
        .order_by(Scorecard.id, Rating.id)
    ).all()
    recs = db.session.execute(
        select(Scorecard.candidate_id, Scorecard.recommendation)
        .join(Candidate, Candidate.id == Scorecard.candidate_id)
        .where(Candidate.opening_id == opening_id, Scorecard.status == ScorecardStatus.SUBMITTED)
    ).all()
    names = _trait_names()
    rows_by, recs_by = defaultdict(list), defaultdict(list)
    for candidate_id, key, rating, flags in rows:
        rows_by[candidate_id].append(("", key, rating, "", "", flags))
    for candidate_id, rec in recs:
        recs_by[candidate_id].append(rec)
    result = []
    for candidate in candidates:
        if candidate.id in pending:
            result.append(ComparisonRow(candidate, None, 0))
            continue
        mine_recs = recs_by[candidate.id]
        result.append(
            ComparisonRow(candidate, aggregate(names, rows_by[candidate.id], mine_recs), len(mine_recs))
        )
    return opening, names, result
