"""Small input checks shared by every feature's services; errors name the field the user must fix."""

from __future__ import annotations

import re

from kms.errors import Invalid

DB_INT_MAX = 2**31 - 1  # the largest id, version or count both databases keep in an INTEGER column

# C0 and C1 control characters, DEL included, except tab (\x09), newline (\x0a) and carriage return (\x0d).
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


# UTF-16 surrogates: JSON and YAML "\\ud83d\\ude80" escapes give them as two characters; UTF-8 can store neither.
_SURROGATES = re.compile(r"[\ud800-\udfff]")


def _join_surrogates(value: str, field: str | None) -> str:
    """Each surrogate pair becomes the character it stands for; a lone surrogate is refused, naming the field."""
    try:
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError as error:
        code = value.encode("utf-16-le", "surrogatepass")[error.start : error.start + 2][::-1].hex()
        where = f"'{field}'" if field else "The text"
        raise Invalid(
            f"{where} contains a character that cannot be stored: an unpaired UTF-16 surrogate "
            f"(\\u{code}); remove it or write the whole character",
            field=field,
        ) from None


def clean_text(value: str, *, keep_cr: bool = False, field: str | None = None) -> str:
    """`value` without control characters: tab and newline stay; CR LF and a lone CR become a newline
    (kept as they are with keep_cr, for files whose exact line ends matter). NUL never reaches the database.
    Escaped surrogate pairs become their character; a lone surrogate raises Invalid naming `field`."""
    if _SURROGATES.search(value):
        value = _join_surrogates(value, field)
    if not keep_cr:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", value)


def clean_json(value):
    """A parsed JSON document with clean_text applied to every string in it, keys included (no recursion,
    so a deeply nested document cannot exhaust the stack)."""
    if isinstance(value, str):
        return clean_text(value)
    pending = [(value, "")]  # each node with its path ("process.name", "tags"), named in errors
    while pending:
        node, path = pending.pop()
        if isinstance(node, dict):
            items = [
                (clean_text(k, field=path or None) if isinstance(k, str) else k, v) for k, v in node.items()
            ]
            node.clear()
            for key, item in items:
                where = f"{path}.{key}" if path else str(key)
                node[key] = clean_text(item, field=where) if isinstance(item, str) else item
                if isinstance(item, dict | list):
                    pending.append((item, where))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    node[index] = clean_text(item, field=path or None)
                elif isinstance(item, dict | list):
                    pending.append((item, path))
    return value


def text(value: str | None, field: str, label: str, max_len: int, required: bool = True) -> str:
    """The stripped text, or Invalid naming the field when it is missing (if required) or too long."""
    value = clean_text(value or "").strip()
    if required and not value:
        raise Invalid(f"{label} is required.", field=field)
    if len(value) > max_len:
        raise Invalid(f"{label} must be at most {max_len} characters.", field=field)
    return value


def whole_number(
    raw: str | None, field: str, label: str, *, low: int = 0, high: int = DB_INT_MAX, required: bool = True
) -> int | None:
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
