"""Column mappings: which column of an export holds which kms field, and on which scale.

kms's own CSV and four helpdesk presets are built in; an admin saves custom mappings (ImportMapping) for
anything else. Header names are matched without regard to case or repeated spaces; each field lists the
headers it accepts, the first being the product's documented name. The preset name is the ticket's `source`,
so a ticket id is unique per helpdesk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kms.metrics.services import values

FIELDS = (
    "ticket_id",
    "agent",
    "solved_at",
    "channel",
    "csat",
    "fcr",
    "reopened",
    "handle_minutes",
    "nps",
    "tags",
)
REQUIRED = ("ticket_id", "agent", "solved_at")
FIELD_LABELS = {
    "ticket_id": "Ticket id",
    "agent": "Rep (agent e-mail, or name as in kms)",
    "solved_at": "Solved at",
    "channel": "Channel",
    "csat": "CSAT rating",
    "fcr": "First-contact resolution",
    "reopened": "Reopened",
    "handle_minutes": "Handle time",
    "nps": "NPS answer (0-10)",
    "tags": "Tags",
}


@dataclass(frozen=True)
class Column:
    headers: tuple[str, ...]  # accepted header names, the documented one first
    kind: str = "text"  # which converter reads it (see converter())
    unit: str = "minutes"  # for durations given as a plain number


@dataclass(frozen=True)
class Mapping:
    name: str  # stored as Ticket.source
    label: str
    columns: dict[str, Column]
    csat_scale: str = "auto"
    time_zone: str | None = None  # None: the import's zone (KMS_METRICS_TIME_ZONE unless given)
    note: str = ""
    custom: bool = field(default=False, compare=False)


def normalize(header: str) -> str:
    return " ".join(header.replace("\ufeff", "").split()).casefold()


KMS = Mapping(
    "kms",
    "kms CSV",
    {
        "ticket_id": Column(("ticket_id",), "ticket_id"),
        "agent": Column(("agent_email",), "agent"),
        "solved_at": Column(("solved_at",), "when"),
        "channel": Column(("channel",), "channel"),
        "csat": Column(("csat",), "csat"),
        "fcr": Column(("fcr",), "bool"),
        "reopened": Column(("reopened",), "bool"),
        "handle_minutes": Column(("handle_minutes",), "duration", "minutes"),
        "nps": Column(("nps",), "nps"),
        "tags": Column(("tags",), "tags"),
    },
    note="kms's own format, see docs/metrics-format.md.",
)

ZENDESK = Mapping(
    "zendesk",
    "Zendesk (Reports > Export, CSV)",
    {
        "ticket_id": Column(("Id", "Ticket ID"), "ticket_id"),
        "agent": Column(("Assignee email", "Assignee"), "agent"),
        "solved_at": Column(("Solved at",), "when"),
        "channel": Column(("Via",), "channel"),
        "csat": Column(("Satisfaction Score",), "csat"),
        "fcr": Column(("Replies",), "count_at_most_one"),  # one-touch: solved with at most one agent reply
        "reopened": Column(("Reopens",), "flag_or_count"),
        "handle_minutes": Column(("Total time spent (sec)",), "duration", "seconds"),  # Time Tracking app
        "tags": Column(("Tags",), "tags"),
    },
    note="Satisfaction Score Good/Bad counts as rated; Offered/Unoffered as not rated. FCR = at most one reply.",
)

FRESHDESK = Mapping(
    "freshdesk",
    "Freshdesk (Tickets > Export, CSV)",
    {
        "ticket_id": Column(("Ticket ID", "Ticket Id"), "ticket_id"),
        "agent": Column(("Agent email", "Agent"), "agent"),
        "solved_at": Column(("Resolved time", "Closed time"), "when"),
        "channel": Column(("Source",), "channel"),
        "csat": Column(("Survey results", "Satisfaction rating"), "csat"),
        "fcr": Column(("Agent interactions",), "count_at_most_one"),
        "reopened": Column(("Reopened", "Reopen count"), "flag_or_count"),
        "handle_minutes": Column(("Time tracked",), "duration", "hours"),  # "hh:mm", or decimal hours
        "tags": Column(("Tags",), "tags"),
    },
    note="Survey results Awesome counts as good; Just okay/Neutral and Not good as bad.",
)

INTERCOM = Mapping(
    "intercom",
    "Intercom (Reports > Conversations dataset, CSV)",
    {
        "ticket_id": Column(("Conversation ID",), "ticket_id"),
        "agent": Column(("Teammate assigned email", "Teammate assigned", "Last teammate assigned"), "agent"),
        "solved_at": Column(("Conversation last closed at", "Last closed at", "Closed at"), "when"),
        "channel": Column(("Channel",), "channel"),
        "csat": Column(("Conversation rating",), "csat"),  # 1-5 stars
        "fcr": Column(("Closed on first contact",), "flag_or_count"),
        "reopened": Column(("Reopened", "Times reopened"), "flag_or_count"),
        "handle_minutes": Column(("Conversation handling time", "Handling time"), "duration", "seconds"),
        "tags": Column(("Conversation tags", "Tags"), "tags"),
    },
    note="Conversation rating 1-5 (4 and 5 are good); durations are in seconds as Intercom exports them.",
)

HUBSPOT = Mapping(
    "hubspot",
    "HubSpot (Tickets > Export view, CSV)",
    {
        "ticket_id": Column(("Ticket ID",), "ticket_id"),
        "agent": Column(("Ticket owner email", "Ticket owner"), "agent"),
        "solved_at": Column(("Close date", "Closed date"), "when"),
        "channel": Column(("Source",), "channel"),
        "csat": Column(("Last CSAT survey rating", "CSAT survey rating"), "csat"),
        "fcr": Column(("First contact resolution",), "flag_or_count"),
        "reopened": Column(("Reopened", "Number of times reopened"), "flag_or_count"),
        "handle_minutes": Column(("Time to close",), "duration", "milliseconds"),  # HubSpot stores ms
        "nps": Column(("Last NPS survey rating", "NPS survey rating"), "nps"),
        "tags": Column(("Tags", "Category"), "tags"),
    },
    note="Ticket owner is matched to a kms user by e-mail or by full name; Time to close in milliseconds.",
)

PRESETS: dict[str, Mapping] = {m.name: m for m in (KMS, ZENDESK, FRESHDESK, INTERCOM, HUBSPOT)}

# What a custom mapping's field is read as (the admin names only the header, the scale and the unit).
CUSTOM_KINDS = {
    "ticket_id": "ticket_id",
    "agent": "agent",
    "solved_at": "when",
    "channel": "channel",
    "csat": "csat",
    "fcr": "flag_or_count",
    "reopened": "flag_or_count",
    "handle_minutes": "duration",
    "nps": "nps",
    "tags": "tags",
}


def custom_mapping(name: str, columns: dict[str, str], *, csat_scale: str, handle_unit: str, time_zone: str):
    """A Mapping from a saved ImportMapping's values (field -> header)."""
    return Mapping(
        f"custom:{name}"[:60],
        name,
        {
            fld: Column((header,), CUSTOM_KINDS[fld], handle_unit)
            for fld, header in columns.items()
            if header and fld in CUSTOM_KINDS
        },
        csat_scale=csat_scale,
        time_zone=time_zone or None,
        custom=True,
    )


def flag_or_count(text: str) -> bool | None:
    """yes/no, or a count read as yes when above zero."""
    if not text:
        return None
    try:
        return values.parse_bool(text)
    except ValueError:
        pass
    try:
        return values.parse_count_positive(text)
    except ValueError:
        raise ValueError(f"'{text}' is not yes/no or a count") from None


def converter(column: Column, mapping: Mapping, tz):
    """The function reading one cell of `column` (see kms.metrics.services.values)."""
    kind = column.kind
    if kind == "when":
        return lambda text: values.parse_when(text, tz)
    if kind == "csat":
        return values.csat_parser(mapping.csat_scale)
    if kind == "duration":
        if column.unit == "milliseconds":
            seconds = values.duration_parser("seconds")
            return lambda text: None if not text else _ms(text, seconds)
        return values.duration_parser(column.unit)
    return {
        "ticket_id": values.parse_ticket_id,
        "agent": values.parse_agent,
        "channel": values.parse_channel,
        "bool": values.parse_bool,
        "count_at_most_one": values.parse_count_at_most_one,
        "flag_or_count": flag_or_count,
        "nps": values.parse_nps,
        "tags": values.parse_tags,
    }[kind]


def _ms(text: str, seconds) -> float | None:
    if ":" in text:
        return seconds(text)
    minutes = seconds(text)
    return None if minutes is None else minutes / 1000
