"""`kms metrics ...`: import a CSV file, recount the daily aggregates."""

from __future__ import annotations

import click

metrics_group = click.Group("metrics", help="Ticket metrics: import helpdesk exports.")
