"""Metrics services: parsing helpdesk exports, importing ticket rows, keeping the daily aggregates."""
