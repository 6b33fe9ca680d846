"""Dashboards (rep, team, company), the ramp-up page, and GET /api/metrics/reps (the ranking as JSON)."""

from __future__ import annotations

from datetime import date

from flask import jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from kms.auth.permissions import allowed, requires
from kms.errors import Invalid
from kms.extensions import utcnow
from kms.metrics.charts import Series, line_chart
from kms.metrics.forms_coaching import AssignRefresherForm, ConfirmHostForm
from kms.metrics.services import dashboards, ramp, ranking, refreshers
from kms.metrics.services import totals as sums
from kms.metrics.views import bp

DASHBOARD_ENDPOINTS = frozenset(
    {"metrics.overview", "metrics.me", "metrics.rep", "metrics.team", "metrics.company", "metrics.ramp"}
)


def today() -> date:
    return utcnow().date()


def _day(name: str) -> date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{name} must be a date like 2026-03-01.", field=name) from None


def _choices() -> dict:
    period = request.args.get("period", "week")
    if period not in dashboards.PERIODS:
        period = "week"
    return {"period": period, "start": _day("from"), "end": _day("to"), "today": today()}


def charts(view: dashboards.Dashboard) -> list[tuple[dashboards.Figure, object]]:
    """One line chart per figure: the subject's line and the benchmark as a dashed line."""
    out = []
    per = "week" if view.period == "week" else "month"
    subject = view.user.name if view.user else view.title
    for figure in dashboards.FIGURES:
        values = view.values(figure)
        bench = view.values(figure, "benchmark")
        if view.level != "rep":  # team and company: their own average over the range, a flat line
            bench = getattr(view.benchmark_total, figure.read)
        described = ", ".join(
            f"{label}: {figure.fmt(v) if v is not None else 'no data'}"
            for label, v in zip(view.labels, values, strict=True)
        )
        out.append(
            (
                figure,
                line_chart(
                    view.labels,
                    [Series(subject, values)],
                    title=f"{figure.label} by {per}: {subject}",
                    desc=f"{described}. The dashed line is {view.benchmark_label}.",
                    benchmark=bench,
                    benchmark_label=view.benchmark_label,
                    fmt=figure.fmt,
                    floor=figure.floor,
                    ceiling=figure.ceiling,
                ),
            )
        )
    return out


@bp.get("/metrics/")
@requires("metrics.view")
def overview():
    """Managers and admins land on their team; everyone else on their own figures."""
    if allowed(current_user, "metrics.team"):
        return redirect(url_for("metrics.team"))
    return redirect(url_for("metrics.me"))


@bp.get("/metrics/me")
@requires("metrics.view")
def me():
    return rep(current_user.id)


@bp.get("/metrics/reps/<int:user_id>")
@requires("metrics.view")
def rep(user_id: int):
    view = dashboards.rep_dashboard(user_id, actor=current_user, **_choices())
    return render_template(
        "metrics/dashboard.html", view=view, charts=charts(view), figures=dashboards.FIGURES
    )


@bp.get("/metrics/team")
@requires("metrics.team")
def team():
    with sums.sharing():
        return _team_page()


def _team_page():
    choices = _choices()
    team_name = request.args.get("team")
    view = dashboards.team_dashboard(actor=current_user, team=team_name, **choices)
    metric_key = request.args.get("metric", "csat")
    if metric_key not in ranking.METRICS:
        metric_key = "csat"
    # The suggestions first: the ranking reuses their sums (same weeks) when the range is the default.
    hosts = ranking.host_suggestions(actor=current_user, team=view.team, today=choices["today"])
    board = ranking.rank_reps(
        metric_key, actor=current_user, team=view.team, start=view.start, end=view.end, today=choices["today"]
    )
    return render_template(
        "metrics/dashboard.html",
        view=view,
        charts=charts(view),
        figures=dashboards.FIGURES,
        board=board,
        metrics=ranking.METRICS,
        hosts=hosts,
        suggestions=refreshers.suggestions(actor=current_user, team=view.team, today=choices["today"]),
        cadence=refreshers.team_cadence(actor=current_user, team=view.team, today=choices["today"]),
        teams=dashboards.teams() if current_user.role.value == "admin" else [],
        host_form=ConfirmHostForm(),
        assign_form=AssignRefresherForm(),
    )


@bp.get("/metrics/company")
@requires("metrics.team")
def company():
    view = dashboards.company_dashboard(actor=current_user, **_choices())
    return render_template(
        "metrics/dashboard.html", view=view, charts=charts(view), figures=dashboards.FIGURES
    )


@bp.get("/metrics/ramp")
@requires("metrics.team")
def ramp_page():
    found = ramp.team_ramp(actor=current_user, team=request.args.get("team"))
    return render_template("metrics/ramp.html", ramp=found, min_group=ramp.MIN_GROUP)


@bp.get("/api/metrics/reps")
@requires("metrics.view")
def api_reps():
    """The ranking of one metric, best first, with each rep's reason in words (same permissions as the pages)."""
    metric_key = request.args.get("metric", "")
    board = ranking.rank_reps(
        metric_key,
        actor=current_user,
        team=request.args.get("team"),
        start=_day("from"),
        end=_day("to"),
        today=today(),
    )
    return jsonify(
        metric=board.metric.key,
        team=board.team,
        start=board.start.isoformat(),
        end=board.end.isoformat(),
        team_value=board.team_value,
        min_volume=board.min_volume,
        reps=[row.as_json(board.metric) for row in board.rows],
    )
