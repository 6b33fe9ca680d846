"""Reading files without a database: encodings, delimiters, dates, scales, size limit, errors that name the cell."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from kms.errors import Invalid
from kms.metrics.services import values
from kms.metrics.services.csvfile import BadRows, FileTooLarge, TicketCsv
from kms.metrics.services.presets import KMS, ZENDESK
from tests.metrics.conftest import DATA

HEADER = "ticket_id,agent_email,solved_at,channel,csat,fcr,reopened,handle_minutes,nps,tags"
ROW = "T-1,ana@example.test,2026-03-02T09:15:00Z,Email,good,yes,no,12.5,10,Billing VIP"


def read(data: bytes, *, max_bytes=1 << 20, time_zone="UTC"):
    return list(TicketCsv(io.BytesIO(data), KMS, max_bytes=max_bytes, time_zone=time_zone))


@pytest.mark.parametrize(
    "encoding,prefix",
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")],
    ids=["utf8", "utf8-bom", "utf16le-bom", "utf16be-bom"],
)
def test_utf8_and_utf16_exports_with_or_without_bom_read_the_same(encoding, prefix):
    text = f"{HEADER}\r\n{ROW.replace('Billing VIP', 'Café')}\r\n"
    (row,) = read(prefix + text.encode(encoding))
    assert row["ticket_id"] == "T-1" and row["tags"] == "café" and row["csat_good"] is True


def test_a_windows_1252_file_is_refused_naming_the_line_and_what_to_do():
    data = f"{HEADER}\n{ROW}\nT-2,ana@example.test,2026-03-02,email,good,,,,,Caf\xe9\n".encode("cp1252")
    with pytest.raises(Invalid, match=r"line 3: the file is not UTF-8 text .*UTF-8"):
        read(data)


@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_the_delimiter_is_found_from_the_header(delimiter):
    data = f"{HEADER}\n{ROW}\n".replace(",", delimiter).encode()
    (row,) = read(data)
    assert row["agent"] == "ana@example.test" and row["handle_minutes"] == 12.5


def test_a_semicolon_file_may_use_a_decimal_comma():
    data = f"{HEADER}\n{ROW}\n".replace(",", ";").replace("12.5", "12,5").encode()
    assert read(data)[0]["handle_minutes"] == 12.5


def test_an_unknown_delimiter_is_refused_naming_the_columns_it_saw():
    data = f"{HEADER}\n{ROW}\n".replace(",", "|").encode()
    with pytest.raises(Invalid, match=r"no column for Ticket id .*comma-separated.*semicolon or tab"):
        read(data)


@pytest.mark.parametrize(
    "text,zone,expected",
    [
        ("2026-03-02T09:15:00Z", "UTC", datetime(2026, 3, 2, 9, 15, tzinfo=UTC)),
        ("2026-03-02T10:15:00+01:00", "UTC", datetime(2026, 3, 2, 9, 15, tzinfo=UTC)),
        ("2026-03-02 10:15:00 +0100", "UTC", datetime(2026, 3, 2, 9, 15, tzinfo=UTC)),
        ("2026-03-02 04:15:00", "America/New_York", datetime(2026, 3, 2, 9, 15, tzinfo=UTC)),
        ("03/02/2026 04:15", "America/New_York", datetime(2026, 3, 2, 9, 15, tzinfo=UTC)),
        ("03/02/2026 4:15 AM", "America/New_York", datetime(2026, 3, 2, 9, 15, tzinfo=UTC)),
        ("2026-07-02 11:15:00", "Europe/Paris", datetime(2026, 7, 2, 9, 15, tzinfo=UTC)),
    ],
)
def test_dates_in_three_formats_and_time_zones_become_utc(text, zone, expected):
    assert values.parse_when(text, values.time_zone(zone)) == expected


def test_csat_on_both_scales():
    parse = values.csat_parser("auto")
    assert [parse(v)[0] for v in ("5", "4", "3", "1", "good", "Bad", "Good with comment", "Offered", "")] == [
        True, True, False, False, True, False, True, None, None,
    ]  # fmt: skip
    assert parse("4") == (True, "4")


def test_a_bad_cell_is_refused_naming_line_column_and_value():
    data = f"{HEADER}\n{ROW}\nT-2,ana@example.test,2026-03-02,,great,,,,,\n".encode()
    with pytest.raises(BadRows) as refused:
        read(data)
    assert refused.value.errors == ["line 3, column csat: 'great' is not 1-5 or good/bad"]


def test_every_bad_row_is_listed_up_to_a_limit():
    rows = "".join(f"T-{n},ana@example.test,yesterday,,,,,,,\n" for n in range(5))
    with pytest.raises(BadRows) as refused:
        read(f"{HEADER}\n{rows}".encode())
    assert len(refused.value.errors) == 5
    assert refused.value.errors[4].startswith("line 6, column solved_at: 'yesterday' is not a date")


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n\n"], ids=["empty", "bom-only", "blank-lines"])
def test_an_empty_file_is_refused(data):
    with pytest.raises(Invalid, match="The file is empty"):
        read(data)


def test_a_header_without_rows_is_refused():
    with pytest.raises(Invalid, match="header line but no tickets"):
        read(f"{HEADER}\n".encode())


class EndlessCsv(io.RawIOBase):
    """A 2 GB CSV made up as it is read (a header, then the same row again and again), counting what was
    handed out."""

    def __init__(self, size: int):
        self.size, self.given = size, 0
        self.pending = (HEADER + "\n").encode()
        self.rows = ((ROW + "\n") * 1000).encode()

    def readable(self):
        return True

    def readinto(self, buffer):
        if not self.pending:
            self.pending = self.rows
        n = min(len(buffer), len(self.pending), self.size - self.given)
        buffer[:n], self.pending = self.pending[:n], self.pending[n:]
        self.given += n
        return n


def test_a_2_gb_stream_is_refused_at_the_limit_without_being_read_through():
    stream = EndlessCsv(2 * 1024**3)
    limit = 512 * 1024
    with pytest.raises(FileTooLarge, match=r"larger than 0.5 MiB \(KMS_METRICS_MAX_MB\).*imported nothing"):
        for _row in TicketCsv(io.BufferedReader(stream), KMS, max_bytes=limit, time_zone="UTC"):
            pass
    assert stream.given < limit + 1024 * 1024  # stopped near the limit, not at 2 GB


def test_formula_cells_are_kept_as_text():
    data = f'{HEADER}\n=HYPERLINK("http://x"),ana@example.test,2026-03-02,@SUM(A1),,,,,,+cmd|calc\n'
    (row,) = read(data.encode())
    assert row["ticket_id"] == '=HYPERLINK("http://x")'
    assert row["channel"] == "@sum(a1)" and row["tags"] == "+cmd calc"


def test_negative_handle_time_and_nps_out_of_range_are_refused():
    with pytest.raises(BadRows, match=r"column handle_minutes: '-5' is not a number of minutes"):
        read(f"{HEADER}\nT-1,a@x.test,2026-03-02,,,,,-5,,\n".encode())
    with pytest.raises(BadRows, match=r"column nps: '11' is not a whole number from 0 to 10"):
        read(f"{HEADER}\nT-1,a@x.test,2026-03-02,,,,,,11,\n".encode())


def test_a_preset_needs_its_own_columns():
    with pytest.raises(Invalid, match=r"no column for Ticket id \('Id' or 'Ticket ID'\)"):
        TicketCsv(io.BytesIO((DATA / "kms.csv").read_bytes()), ZENDESK, max_bytes=1 << 20, time_zone="UTC")
