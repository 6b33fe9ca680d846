"""Metrics models owned by the coaching side (kept apart from models.py, which holds the imported data):
refresher rules and each team's re-certification cadence."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kms.extensions import UTCDateTime, db, utcnow


class RefresherRule(db.Model):
    """When a rep's metric crosses a threshold over a window of days, suggest a refresher module to their manager.

    `metric` is a ranking metric (csat, fcr, reopened, handle_minutes, nps) or "angry_rise" (the share of
    angry-tagged tickets up by `threshold` points against the window before). `threshold` is in the metric's
    unit: a share 0..1 for csat/fcr/reopened, minutes, NPS points, or share points for angry_rise. The rule
    fires below the threshold for metrics where higher is better, above it otherwise. `team` "" = every team.
    """

    __tablename__ = "metric_refresher_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    team: Mapped[str] = mapped_column(String(80), default="")
    metric: Mapped[str] = mapped_column(String(30))
    threshold: Mapped[float]
    window_days: Mapped[int] = mapped_column(default=28)
    min_count: Mapped[int] = mapped_column(default=20)  # measured tickets in the window before the rule fires
    module_id: Mapped[int] = mapped_column(ForeignKey("training_modules.id", ondelete="CASCADE"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    module = relationship("Module", lazy="joined")


class TeamCadence(db.Model):
    """A team's regular re-certification: every rep of the team redoes `module` every `every_months` months."""

    __tablename__ = "metric_team_cadences"
    __table_args__ = (UniqueConstraint("team", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team: Mapped[str] = mapped_column(String(80))
    module_id: Mapped[int] = mapped_column(ForeignKey("training_modules.id", ondelete="CASCADE"), index=True)
    every_months: Mapped[int] = mapped_column(default=3)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    module = relationship("Module", lazy="joined")
