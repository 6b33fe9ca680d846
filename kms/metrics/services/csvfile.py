"""Reading a metrics CSV as a stream: size limit, encoding, delimiter, header mapping, one dict per ticket.

Nothing holds the whole file: bytes pass through a counting reader that refuses the file as soon as it
passes the limit, then an incremental decoder and the csv module, so a 2 GB upload costs the limit in time
and a buffer in memory. Every error names the line and the column as the file has them.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Iterator

from kms.errors import Invalid
from kms.metrics.services import values
from kms.metrics.services.presets import FIELD_LABELS, REQUIRED, Mapping, converter, normalize

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
MAX_ERRORS = 20  # a file with this many bad rows is refused at once: the first ones show what to fix
_CELL_LIMIT = 1_000_000
_DEFAULTS = {
    "channel": "",
    "tags": "",
    "csat_good": None,
    "csat_raw": None,
    "fcr": None,
    "reopened": None,
    "handle_minutes": None,
    "nps": None,
}


class FileTooLarge(Invalid):
    """The file is larger than KMS_METRICS_MAX_MB; nothing was imported."""

    status = 413


class BadRows(Invalid):
    """Rows with values kms cannot read; `errors` lists them (line, column, what is wrong)."""

    def __init__(self, errors: list[str], *, more: bool = False):
        head = errors[0] if len(errors) == 1 else f"{len(errors)} rows cannot be read; the first: {errors[0]}"
        if more:
            head += f" (kms stopped after {len(errors)} bad rows)"
        super().__init__(f"Nothing was imported. {head}", errors=errors)
        self.errors = errors


class _Limited(io.RawIOBase):
    """Counts the bytes read from `raw` and refuses the file the moment they pass `limit`."""

    def __init__(self, raw, limit: int):
        self.raw, self.limit, self.count = raw, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.count += size
        if self.count > self.limit:
            mib = self.limit / (1024 * 1024)
            raise FileTooLarge(
                f"The file is larger than {mib:g} MiB (KMS_METRICS_MAX_MB), so kms stopped reading it and "
                "imported nothing. Split it into smaller files (e.g. one per month), or ask the admin to "
                "raise the limit."
            )
        return size


def open_lines(raw, *, max_bytes: int) -> tuple[Iterator[str], str, _Limited]:
    """`raw` (a binary file object) as decoded lines (ends kept, for the csv module), the encoding found,
    and the byte counter. UTF-8 with or without BOM is decoded line by line, so a byte that is not UTF-8 is
    reported on its own line; UTF-16 with a BOM (as Excel and several helpdesks export it), or without one
    but recognised by its zero bytes, goes through an incremental decoder."""
    limited = _Limited(raw, max_bytes)
    buffered = io.BufferedReader(limited, buffer_size=64 * 1024)
    head = buffered.peek(4)[:4]
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        encoding = "utf-16"
    elif len(head) >= 2 and head[0] != 0 and head[1] == 0:
        encoding = "utf-16-le"
    elif len(head) >= 2 and head[0] == 0 and head[1] != 0:
        encoding = "utf-16-be"
    else:
        if head.startswith(codecs.BOM_UTF8):
            buffered.read(3)
        return _utf8_lines(buffered), "utf-8", limited
    return _utf16_lines(io.TextIOWrapper(buffered, encoding=encoding, newline="")), encoding, limited


def _utf8_lines(buffered) -> Iterator[str]:
    for number, line in enumerate(buffered, start=1):
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _not_text(f"line {number}", "UTF-8", error) from None


def _utf16_lines(text: io.TextIOWrapper) -> Iterator[str]:
    number = 0
    while True:
        try:
            line = text.readline()
        except UnicodeDecodeError as error:
            raise _not_text(f"after line {number}", "UTF-16", error) from None
        if not line:
            return
        number += 1
        yield line


def _not_text(where: str, encoding: str, error: UnicodeDecodeError) -> Invalid:
    return Invalid(
        f"{where}: the file is not {encoding} text (byte 0x{error.object[error.start]:02x}). Save or export "
        "it as CSV UTF-8 (or UTF-16) and try again."
    )


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of a header line: whichever of comma, semicolon and tab it holds most (comma on a tie)."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


class TicketCsv:
    """A metrics CSV opened for reading: the header is read and mapped when it is built (raising Invalid for
    an empty file or missing columns); iterating yields one dict per ticket and raises BadRows at the end
    (or after MAX_ERRORS bad rows) so the caller's transaction rolls back."""

    def __init__(self, raw, mapping: Mapping, *, max_bytes: int, time_zone: str):
        self.mapping = mapping
        try:
            self.tz = values.time_zone(mapping.time_zone or time_zone)
        except ValueError as error:
            raise Invalid(f"Time zone: {error}.", field="time_zone") from None
        self.lines, self.encoding, self.counter = open_lines(raw, max_bytes=max_bytes)
        first = next(self.lines, "")
        while first and not first.strip():
            first = next(self.lines, "")
        if not first.strip():
            raise Invalid("The file is empty: kms needs a header line and at least one ticket.")
        self.delimiter = sniff_delimiter(first)
        csv.field_size_limit(_CELL_LIMIT)
        self.reader = csv.reader(itertools.chain([first], self.lines), delimiter=self.delimiter)
        self.header = [cell.strip() for cell in self._read_header()]
        self.header[0] = self.header[0].lstrip("\ufeff")
        self.plan, self.used = self._plan()
        self.rows_read = 0

    def _read_header(self) -> list[str]:
        try:
            return next(self.reader)
        except csv.Error as error:
            raise self._unreadable(error) from None

    def _unreadable(self, error: Exception) -> Invalid:
        return Invalid(f"line {self.reader.line_num}: the CSV cannot be read ({error}).")

    def _plan(self):
        positions: dict[str, int] = {}
        for index, name in enumerate(self.header):
            positions.setdefault(normalize(name), index)
        plan, used, missing = [], {}, []
        for field_name, column in self.mapping.columns.items():
            index = next((positions[normalize(h)] for h in column.headers if normalize(h) in positions), None)
            if index is None:
                if field_name in REQUIRED:
                    missing.append(
                        f"{FIELD_LABELS[field_name]} ({' or '.join(repr(h) for h in column.headers)})"
                    )
                continue
            plan.append((index, field_name, converter(column, self.mapping, self.tz), self.header[index]))
            used[field_name] = self.header[index]
        if missing:
            found = ", ".join(repr(h) for h in self.header[:30]) or "none"
            raise Invalid(
                f"The file has no column for {'; '.join(missing)}. Its columns are: {found}. Check the "
                f"preset ({self.mapping.label}), or the delimiter: kms read the header as "
                f"{DELIMITERS[self.delimiter]}-separated (it reads comma, semicolon or tab)."
            )
        return plan, used

    def __iter__(self) -> Iterator[dict]:
        errors: list[str] = []
        width = len(self.header)
        plan, reader = self.plan, self.reader
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                raise self._unreadable(error) from None
            line = reader.line_num
            if len(cells) != width:
                if not any(cell.strip() for cell in cells):
                    continue  # a blank line
                errors.append(f"line {line}: {len(cells)} cells, but the header has {width} columns")
            else:
                row = dict(_DEFAULTS)
                row["line"] = line
                bad = False
                for index, name, convert, header in plan:
                    try:
                        row[name] = convert(cells[index].strip())
                    except ValueError as error:
                        errors.append(f"line {line}, column {header}: {error}")
                        bad = True
                        break
                if not bad:
                    csat = row.pop("csat", None)
                    if csat is not None:
                        row["csat_good"], row["csat_raw"] = csat
                    self.rows_read += 1
                    if not errors:
                        yield row
            if len(errors) >= MAX_ERRORS:
                raise BadRows(errors, more=True)
        if errors:
            raise BadRows(errors)
        if self.rows_read == 0:
            raise Invalid("The file has a header line but no tickets: nothing to import.")
