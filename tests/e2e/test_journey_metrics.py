"""Journey: a manager uploads a helpdesk CSV, reads the team dashboard, confirms the suggested top performer as
a shadowing host and assigns the suggested refresher to the rep whose first-contact resolution dipped; that rep
then finds the module on My onboarding.

Starts from the demo site (`kms demo`): 90 days of tickets where Rita outperforms on CSAT and Felix's FCR dips.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.e2e.harness import click_and_wait, log_in, text_of, texts_of


def _csv(tmp_path) -> str:
    """kms's own CSV format: yesterday's tickets for two demo reps (one rated bad, one tagged angry)."""
    day = datetime.now(UTC) - timedelta(days=1)
    lines = ["ticket_id,agent_email,solved_at,channel,csat,fcr,reopened,handle_minutes,nps,tags"]
    for n in range(6):
        at = (day.replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(minutes=20 * n)).isoformat()
        lines.append(f"J-{n},rita@demo.kms.test,{at},email,5,yes,no,8.5,10,billing")
        lines.append(f"K-{n},felix@demo.kms.test,{at},chat,{2 if n % 2 else 4},no,yes,19,6,angry refund")
    path = tmp_path / "helpdesk-export.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _big_csv(tmp_path, tickets: int = 40_000) -> str:
    """Over 2 MiB, so the page imports it in the background: tickets of a steady rep, two years back (outside
    every figure the journey reads above)."""
    lines = ["ticket_id,agent_email,solved_at,channel,csat,fcr,reopened,handle_minutes,nps,tags"]
    lines += [
        f"OLD-{n:06d},ben@demo.kms.test,2024-{1 + n % 12:02d}-{1 + n % 28:02d}T10:00:00,email,4,yes,no,12.5,8,"
        "billing plans and invoices"
        for n in range(tickets)
    ]
    path = tmp_path / "helpdesk-export-2024.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert path.stat().st_size > 2 * 1024 * 1024
    return str(path)


def _password(server, email: str) -> str:
    return next(p for logins in server.demo_logins.values() for e, p in logins if e == email)


def test_a_manager_acts_on_the_team_dashboard_and_the_rep_sees_the_refresher(live_server, journey, tmp_path):
    run = journey("metrics", live_server)
    manager = run.browser()
    log_in(manager, live_server, *live_server.demo_logins["manager"][0])

    # Upload the helpdesk export on the import page (kms's own format), all or nothing.
    run.open(manager, "/metrics/import")
    manager.find_element(By.ID, "file").send_keys(_csv(tmp_path))
    Select(manager.find_element(By.ID, "source")).select_by_value("kms")
    click_and_wait(manager, manager.find_element(By.CSS_SELECTOR, "form.metrics-import input[name=submit]"))
    assert "12" in text_of(manager, "#report-h + p"), text_of(manager, "main")
    run.page_done(manager, "imported")

    # The team dashboard: figures beside the company, the ranking with its reasons, charts with a benchmark.
    run.visit(manager, "/metrics/team", "team-dashboard")
    ranking = texts_of(manager, "ol.ranking li")
    assert ranking[0].startswith("Rita Rockstar — CSAT ") and "lower bound" in ranking[0]
    assert manager.find_elements(By.CSS_SELECTOR, "figure.chart svg[role=img] .target-line")

    # One click: Rita becomes a shadowing host for CSAT.
    click_and_wait(
        manager,
        manager.find_element(By.XPATH, "//button[text()='Confirm Rita Rockstar as shadowing host for CSAT']"),
    )
    assert "Rita Rockstar is now a shadowing host for CSAT." in text_of(manager, ".flashes")
    assert "Shadowing host for CSAT" in text_of(manager, "#hosts-h + ul")

    # One click: Felix, whose FCR dipped, gets the refresher the rule suggests.
    refresher = "//button[text()='Assign “Working the ticket queue” to Felix Falls']"
    suggestion = manager.find_element(By.XPATH, refresher + "/ancestor::li").text
    assert "FCR" in suggestion and "last 28 days" in suggestion
    click_and_wait(manager, manager.find_element(By.XPATH, refresher))
    assert "Assigned “Working the ticket queue”" in text_of(manager, ".flashes")
    assert not manager.find_elements(By.XPATH, refresher)
    run.snap(manager, "after-one-click-actions")

    # Felix finds the refresher on My onboarding, and his own figures beside the team's.
    felix = run.browser()
    log_in(felix, live_server, "felix@demo.kms.test", _password(live_server, "felix@demo.kms.test"))
    run.visit(felix, "/training/me", "felix-onboarding")
    assert "Working the ticket queue" in text_of(felix, "main")
    run.visit(felix, "/metrics/me", "felix-figures")
    assert "Felix Falls" in text_of(felix, "h1") and "Team EMEA" in text_of(felix, "table.metric-summary")
    assert "Rita Rockstar" not in text_of(felix, "main")

    # A big export goes to the background: the browser follows the progress page (it reloads itself) to the result.
    run.open(manager, "/metrics/import")
    manager.find_element(By.ID, "file").send_keys(_big_csv(tmp_path))
    Select(manager.find_element(By.ID, "source")).select_by_value("kms")
    click_and_wait(manager, manager.find_element(By.CSS_SELECTOR, "form.metrics-import input[name=submit]"))
    assert "/metrics/import/runs/" in manager.current_url, text_of(manager, "main")
    WebDriverWait(manager, 90).until(lambda browser: browser.find_elements(By.ID, "report-h"))
    assert "40,000 tickets added" in text_of(manager, "#report-h + p"), text_of(manager, "main")
    run.page_done(manager, "big-import-done")
