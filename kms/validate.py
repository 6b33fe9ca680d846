"""Small input checks shared by every feature's services; errors name the field the user must fix."""
from __future__ import annotations

from kms.errors import Invalid


def text(value: str | None, field: str, label: str, max_len: int, required: bool = True) -> str:
    """The stripped text, or Invalid naming the field when it is missing (if required) or too long."""
    value = (value or "").strip()
    if required and not value:
        raise Invalid(f"{label} is required.", field=field)
    if len(value) > max_len:
        raise Invalid(f"{label} must be at most {max_len} characters.", field=field)
    return value
