"""Small input checks shared by every feature's services; errors name the field the user must fix."""
from __future__ import annotations

import re

from kms.errors import Invalid

DB_INT_MAX = 2**31 - 1   # the largest id, version or count both databases keep in an INTEGER column

# C0 and C1 control characters, DEL included, except tab (\x09), newline (\x0a) and carriage return (\x0d).
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_text(value: str, *, keep_cr: bool = False) -> str:
    """`value` without control characters: tab and newline stay; CR LF and a lone CR become a newline
    (kept as they are with keep_cr, for files whose exact line ends matter). NUL never reaches the database."""
    if not keep_cr:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", value)


def clean_json(value):
    """A parsed JSON document with clean_text applied to every string in it, keys included (no recursion,
    so a deeply nested document cannot exhaust the stack)."""
    if isinstance(value, str):
        return clean_text(value)
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            items = [(clean_text(k) if isinstance(k, str) else k, v) for k, v in node.items()]
            node.clear()
            node.update((k, clean_text(v) if isinstance(v, str) else v) for k, v in items)
            pending.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    node[index] = clean_text(item)
                elif isinstance(item, dict | list):
                    pending.append(item)
    return value


def text(value: str | None, field: str, label: str, max_len: int, required: bool = True) -> str:
    """The stripped text, or Invalid naming the field when it is missing (if required) or too long."""
    value = clean_text(value or "").strip()
    if required and not value:
        raise Invalid(f"{label} is required.", field=field)
    if len(value) > max_len:
        raise Invalid(f"{label} must be at most {max_len} characters.", field=field)
    return value


def whole_number(raw: str | None, field: str, label: str, *, low: int = 0, high: int = DB_INT_MAX,
                 required: bool = True) -> int | None:
    """A whole number typed or sent as text (plain ASCII digits, optional minus), or Invalid naming the field
    when it is missing (if required), unreadable or outside low..high. None when optional and empty."""
    raw = (raw or "").strip()
    if not raw:
        if required:
            raise Invalid(f"{label} is required.", field=field)
        return None
    digits = raw.removeprefix("-")
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 18):
        raise Invalid(f"{label} must be a whole number, not {raw[:20]!r}.", field=field)
    number = int(raw)
    if not low <= number <= high:
        raise Invalid(f"{label} must be between {low} and {high}.", field=field)
    return number
