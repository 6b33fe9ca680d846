"""Training models: modules, lessons, quizzes, paths, assignments, completions, shadowing and calendar feeds."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, time

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kms.extensions import UTCDateTime, db, enum_column, utcnow


class ModuleStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class QuestionKind(enum.StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"


class SessionFormat(enum.StrEnum):
    LIVE_CALLS = "live calls"
    TICKET_QUEUE = "ticket queue"
    SCREEN_SHARE = "screen share"


class SessionStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    DONE = "done"
    CANCELLED = "cancelled"


class Module(db.Model):
    __tablename__ = "training_modules"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(600), default="")
    intro: Mapped[str] = mapped_column(Text, default="")
    audience_csv: Mapped[str] = mapped_column(String(100), default="member")  # role values, comma-separated
    minutes: Mapped[int] = mapped_column(default=30)
    status: Mapped[ModuleStatus] = mapped_column(
        enum_column(ModuleStatus), default=ModuleStatus.DRAFT, index=True
    )
    recertify_months: Mapped[int | None]  # None: a completion never expires
    pass_mark: Mapped[int] = mapped_column(default=80)  # percent, for the quiz (if it has questions)
    max_attempts: Mapped[int] = mapped_column(default=0)  # per certification cycle; 0 = unlimited
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="module", order_by="Lesson.position", cascade="all, delete-orphan"
    )
    questions: Mapped[list[Question]] = relationship(
        back_populates="module", order_by="Question.position", cascade="all, delete-orphan"
    )
    tag_rows: Mapped[list[ModuleTag]] = relationship(cascade="all, delete-orphan", order_by="ModuleTag.tag")

    @property
    def audience(self) -> list[str]:
        return [role for role in self.audience_csv.split(",") if role]

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]


class ModuleTag(db.Model):
    __tablename__ = "training_module_tags"

    module_id: Mapped[int] = mapped_column(
        ForeignKey("training_modules.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(50), primary_key=True, index=True)


class Lesson(db.Model):
    __tablename__ = "training_lessons"

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("training_modules.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    acknowledge: Mapped[bool] = mapped_column(default=False)  # required reading: "I have read and understood"

    module: Mapped[Module] = relationship(back_populates="lessons")
    article_links: Mapped[list[LessonArticle]] = relationship(
        order_by="LessonArticle.position", cascade="all, delete-orphan"
    )


class LessonArticle(db.Model):
    """A handbook article a lesson links to (by id; content files name it by slug)."""

    __tablename__ = "training_lesson_articles"

    lesson_id: Mapped[int] = mapped_column(
        ForeignKey("training_lessons.id", ondelete="CASCADE"), primary_key=True
    )
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(default=0)

    article = relationship("Article", lazy="joined")


class Question(db.Model):
    __tablename__ = "training_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("training_modules.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[QuestionKind] = mapped_column(enum_column(QuestionKind), default=QuestionKind.SINGLE)
    explanation: Mapped[str] = mapped_column(Text, default="")

    module: Mapped[Module] = relationship(back_populates="questions")
    choices: Mapped[list[Choice]] = relationship(order_by="Choice.position", cascade="all, delete-orphan")


class Choice(db.Model):
    __tablename__ = "training_choices"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("training_questions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(String(500))
    correct: Mapped[bool] = mapped_column(default=False)


class QuizAttempt(db.Model):
    """One submitted knowledge check, with the choices picked (AttemptAnswer) and the score."""

    __tablename__ = "training_quiz_attempts"
    __table_args__ = (Index("ix_training_quiz_attempts_user_module", "user_id", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("training_modules.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    correct: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    score: Mapped[int] = mapped_column(default=0)  # percent, rounded down
    passed: Mapped[bool] = mapped_column(default=False)

    answers: Mapped[list[AttemptAnswer]] = relationship(cascade="all, delete-orphan")


class AttemptAnswer(db.Model):
    __tablename__ = "training_attempt_answers"

    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("training_quiz_attempts.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[int] = mapped_column(
        ForeignKey("training_questions.id", ondelete="CASCADE"), primary_key=True
    )
    choice_id: Mapped[int] = mapped_column(
        ForeignKey("training_choices.id", ondelete="CASCADE"), primary_key=True
    )


class LessonCompletion(db.Model):
    """A learner finished (or acknowledged) a lesson; one row per learner and lesson, refreshed on redo."""

    __tablename__ = "training_lesson_completions"
    __table_args__ = (UniqueConstraint("user_id", "lesson_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("training_lessons.id", ondelete="CASCADE"), index=True)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    studied: Mapped[list[StudiedRevision]] = relationship(cascade="all, delete-orphan")


class StudiedRevision(db.Model):
    """The published revision of a linked article the learner studied with a lesson."""

    __tablename__ = "training_studied_revisions"

    completion_id: Mapped[int] = mapped_column(
        ForeignKey("training_lesson_completions.id", ondelete="CASCADE"), primary_key=True
    )
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id", ondelete="SET NULL"))
    revision_number: Mapped[int] = mapped_column(default=0)


class ModuleCompletion(db.Model):
    """A learner completed a module; one row per learner and module, renewed on re-certification."""

    __tablename__ = "training_module_completions"
    __table_args__ = (UniqueConstraint("user_id", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("training_modules.id", ondelete="CASCADE"), index=True)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: never expires

    def valid_at(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now


class Path(db.Model):
    """An onboarding path: ordered modules with day offsets, plus planned shadowing days."""

    __tablename__ = "training_paths"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    role: Mapped[str] = mapped_column(String(20), default="member")
    shadow_days: Mapped[int] = mapped_column(default=0)
    shadow_sessions_per_day: Mapped[int] = mapped_column(default=0)
    shadow_minutes: Mapped[int] = mapped_column(default=90)

    steps: Mapped[list[PathModule]] = relationship(
        order_by="PathModule.position", cascade="all, delete-orphan"
    )


class PathModule(db.Model):
    __tablename__ = "training_path_modules"

    path_id: Mapped[int] = mapped_column(
        ForeignKey("training_paths.id", ondelete="CASCADE"), primary_key=True
    )
    module_id: Mapped[int] = mapped_column(
        ForeignKey("training_modules.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(default=0)
    day_offset: Mapped[int] = mapped_column(default=0)

    module: Mapped[Module] = relationship(lazy="joined")


class Assignment(db.Model):
    """A module a learner must complete by a due date (from a path, or assigned alone)."""

    __tablename__ = "training_assignments"
    __table_args__ = (UniqueConstraint("user_id", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("training_modules.id", ondelete="CASCADE"), index=True)
    path_id: Mapped[int | None] = mapped_column(
        ForeignKey("training_paths.id", ondelete="SET NULL"), index=True
    )
    due_on: Mapped[date | None]  # the learner's local calendar day
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # end of that day in the learner's zone
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    sequence: Mapped[int] = mapped_column(default=0)  # iCalendar SEQUENCE of the due-date event

    module: Mapped[Module] = relationship()
    path: Mapped[Path | None] = relationship()


class ShadowHost(db.Model):
    """A top performer new hires may shadow; availability windows are in the host's own time zone."""

    __tablename__ = "training_shadow_hosts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    active: Mapped[bool] = mapped_column(default=True)
    note: Mapped[str] = mapped_column(String(300), default="")
    # Skills a manager confirmed this host for (metric keys and module tags, space-separated, lowercased):
    # the planner prefers these hosts for trainees whose path needs one of them.
    skills: Mapped[str] = mapped_column(String(300), default="", server_default="")

    user = relationship("User", lazy="joined")
    windows: Mapped[list[Availability]] = relationship(
        cascade="all, delete-orphan", order_by=lambda: (Availability.weekday, Availability.start_time)
    )

    @property
    def skill_set(self) -> frozenset[str]:
        return frozenset(self.skills.split())


class Availability(db.Model):
    __tablename__ = "training_availability"

    id: Mapped[int] = mapped_column(primary_key=True)
    host_id: Mapped[int] = mapped_column(
        ForeignKey("training_shadow_hosts.user_id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int]  # 0 = Monday ... 6 = Sunday, in the host's time zone
    start_time: Mapped[time]
    end_time: Mapped[time]


def _new_uid() -> str:
    return f"{uuid.uuid4()}@kms"


class ShadowSession(db.Model):
    __tablename__ = "training_shadow_sessions"
    __table_args__ = (
        Index("ix_training_shadow_sessions_host_time", "host_id", "starts_at"),
        Index("ix_training_shadow_sessions_trainee_time", "trainee_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(
        String(80), unique=True, default=_new_uid
    )  # iCalendar UID, never changes
    sequence: Mapped[int] = mapped_column(default=0)  # bumped on every change
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    host_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    focus: Mapped[str] = mapped_column(String(200), default="")
    # An https address of the call (Zoom, Meet, Teams...); "" when the session is in person.
    meeting_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    focus_article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    format: Mapped[SessionFormat] = mapped_column(
        enum_column(SessionFormat), default=SessionFormat.LIVE_CALLS
    )
    status: Mapped[SessionStatus] = mapped_column(
        enum_column(SessionStatus), default=SessionStatus.SCHEDULED, index=True
    )
    trainee_notes: Mapped[str] = mapped_column(Text, default="")
    host_feedback: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    trainee = relationship("User", foreign_keys=[trainee_id])
    host = relationship("User", foreign_keys=[host_id])
    created_by = relationship("User", foreign_keys=[created_by_id])
    focus_article = relationship("Article")


class CalendarFeed(db.Model):
    """A private calendar feed URL: only a hash of its secret is stored; revoking deletes access."""

    __tablename__ = "training_calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
