"""Hiring models: the versioned traits rubric, openings, candidates, interviews, scorecards and the audit log.

Personal data lives in `hiring_candidates` and in the free text of scorecards; deleting a candidate cascades to
every row below it. The audit log keeps only ids and actions, so it can outlive the candidate.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kms.auth.models import User
from kms.extensions import UTCDateTime, db, enum_column, utcnow

RATINGS = (1, 2, 3, 4)  # no neutral middle


class Stage(enum.StrEnum):
    APPLIED = "applied"
    SCREENING = "screening"
    INTERVIEWING = "interviewing"
    OFFER = "offer"
    HIRED = "hired"
    REJECTED = "rejected"


class Recommendation(enum.StrEnum):
    STRONG_NO = "strong no"
    NO = "no"
    YES = "yes"
    STRONG_YES = "strong yes"


class Decision(enum.StrEnum):
    HIRE = "hire"
    REJECT = "reject"


class ScorecardStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class RubricVersion(db.Model):
    """One immutable version of the whole rubric; an edit of any trait makes the next version."""

    __tablename__ = "hiring_rubric_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    note: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    traits: Mapped[list[Trait]] = relationship(
        back_populates="rubric_version", order_by="Trait.position", cascade="all, delete-orphan"
    )
    created_by: Mapped[User | None] = relationship()


class Trait(db.Model):
    """A trait as worded in one rubric version: definition, questions, answers, flags and the 1-4 anchors."""

    __tablename__ = "hiring_traits"
    __table_args__ = (UniqueConstraint("rubric_version_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rubric_version_id: Mapped[int] = mapped_column(
        ForeignKey("hiring_rubric_versions.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(default=0)
    definition: Mapped[str] = mapped_column(Text, default="")
    questions: Mapped[list] = mapped_column(JSON, default=list)
    strong_answer: Mapped[str] = mapped_column(Text, default="")
    weak_answer: Mapped[str] = mapped_column(Text, default="")
    green_flags: Mapped[list] = mapped_column(JSON, default=list)
    red_flags: Mapped[list] = mapped_column(JSON, default=list)
    scale: Mapped[dict] = mapped_column(JSON, default=dict)  # {"1": "...", ..., "4": "..."}
    guidance: Mapped[str] = mapped_column(Text, default="")  # Markdown

    rubric_version: Mapped[RubricVersion] = relationship(back_populates="traits")

    def anchor(self, rating: int) -> str:
        return self.scale.get(str(rating), "")


class Opening(db.Model):
    """A role the team is hiring for; candidates apply to one opening."""

    __tablename__ = "hiring_openings"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    team: Mapped[str] = mapped_column(String(80), default="")
    is_open: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Candidate(db.Model):
    __tablename__ = "hiring_candidates"

    id: Mapped[int] = mapped_column(primary_key=True)
    opening_id: Mapped[int] = mapped_column(ForeignKey("hiring_openings.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    source: Mapped[str] = mapped_column(String(80), default="")
    stage: Mapped[Stage] = mapped_column(enum_column(Stage), default=Stage.APPLIED, index=True)
    stage_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    notes: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[Decision | None] = mapped_column(enum_column(Decision))
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    hired_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    opening: Mapped[Opening] = relationship()
    interviews: Mapped[list[Interview]] = relationship(
        back_populates="candidate",
        order_by="Interview.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class Interview(db.Model):
    __tablename__ = "hiring_interviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("hiring_candidates.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(120))
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    candidate: Mapped[Candidate] = relationship(back_populates="interviews")
    assignments: Mapped[list[InterviewerAssignment]] = relationship(
        back_populates="interview",
        order_by="InterviewerAssignment.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class InterviewerAssignment(db.Model):
    """An interviewer on an interview, optionally limited to some traits; holds at most one scorecard."""

    __tablename__ = "hiring_assignments"
    __table_args__ = (
        UniqueConstraint("interview_id", "interviewer_id"),
        Index("ix_hiring_assignments_candidate_interviewer", "candidate_id", "interviewer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(
        ForeignKey("hiring_interviews.id", ondelete="CASCADE"), index=True
    )
    candidate_id: Mapped[int] = mapped_column(ForeignKey("hiring_candidates.id", ondelete="CASCADE"))
    interviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    traits: Mapped[list] = mapped_column(JSON, default=list)  # trait keys; empty = all traits

    interview: Mapped[Interview] = relationship(back_populates="assignments")
    interviewer: Mapped[User] = relationship()
    scorecard: Mapped[Scorecard | None] = relationship(
        back_populates="assignment", uselist=False, cascade="all, delete-orphan", passive_deletes=True
    )


class WithdrawnInterviewer(db.Model):
    """Someone taken off a candidate's interview before submitting. Kept so that leaving an interview never opens
    the others' scorecards: they stay hidden from this person until they submit a scorecard of their own."""

    __tablename__ = "hiring_withdrawals"
    __table_args__ = (Index("ix_hiring_withdrawals_candidate_interviewer", "candidate_id", "interviewer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("hiring_candidates.id", ondelete="CASCADE"))
    interviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    interview_title: Mapped[str] = mapped_column(String(120), default="")
    withdrawn_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    interviewer: Mapped[User] = relationship(foreign_keys=[interviewer_id])


class Scorecard(db.Model):
    __tablename__ = "hiring_scorecards"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("hiring_assignments.id", ondelete="CASCADE"), unique=True
    )
    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("hiring_candidates.id", ondelete="CASCADE"), index=True
    )
    interviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    rubric_version_id: Mapped[int] = mapped_column(ForeignKey("hiring_rubric_versions.id"))
    status: Mapped[ScorecardStatus] = mapped_column(
        enum_column(ScorecardStatus), default=ScorecardStatus.DRAFT
    )
    recommendation: Mapped[Recommendation | None] = mapped_column(enum_column(Recommendation))
    summary: Mapped[str] = mapped_column(Text, default="")
    revision: Mapped[int] = mapped_column(default=0)  # 0 = never submitted, 1 = submitted, 2+ = amended
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    assignment: Mapped[InterviewerAssignment] = relationship(back_populates="scorecard")
    interviewer: Mapped[User] = relationship()
    rubric_version: Mapped[RubricVersion] = relationship()
    ratings: Mapped[list[Rating]] = relationship(
        back_populates="scorecard", cascade="all, delete-orphan", passive_deletes=True
    )
    revisions: Mapped[list[ScorecardRevision]] = relationship(
        back_populates="scorecard",
        order_by="ScorecardRevision.number",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class Rating(db.Model):
    """One trait on one scorecard: the 1-4 score, the question asked, the evidence and red flags ticked."""

    __tablename__ = "hiring_ratings"
    __table_args__ = (
        UniqueConstraint("scorecard_id", "trait_key"),
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 4)", name="rating_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("hiring_scorecards.id", ondelete="CASCADE"))
    trait_key: Mapped[str] = mapped_column(String(40))
    rating: Mapped[int | None]
    question: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text, default="")
    red_flags: Mapped[list] = mapped_column(JSON, default=list)

    scorecard: Mapped[Scorecard] = relationship(back_populates="ratings")


class ScorecardRevision(db.Model):
    """A snapshot taken at submission (number 1) and at each amendment, with who, when and why."""

    __tablename__ = "hiring_scorecard_revisions"
    __table_args__ = (UniqueConstraint("scorecard_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("hiring_scorecards.id", ondelete="CASCADE"))
    number: Mapped[int]
    snapshot: Mapped[dict] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    scorecard: Mapped[Scorecard] = relationship(back_populates="revisions")
    created_by: Mapped[User | None] = relationship()


class AuditEntry(db.Model):
    """Who viewed, changed or exported hiring data. Ids only: no candidate names, so entries outlive deletion."""

    __tablename__ = "hiring_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(20))  # viewed | changed | exported | deleted | purged
    subject: Mapped[str] = mapped_column(String(40))  # what: candidate, debrief, scorecard, rubric...
    candidate_id: Mapped[int | None] = mapped_column(index=True)  # no foreign key: kept after deletion
    detail: Mapped[str] = mapped_column(String(300), default="")

    actor: Mapped[User | None] = relationship()
