"""Read an uploaded spreadsheet (CSV in UTF-8/GBK with , ; or tab, XLSX/XLS/ODS) into text rows.

Formats are read by libraries (python-calamine, the csv module, charset-normalizer);
every cell comes out as text, so the domain rules see what the user typed.
"""

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import chain, islice

from domain.imports import guess_mapping
from web.core.i18n import N_

MSG_NOT_A_SPREADSHEET = N_("This file is not a spreadsheet: upload an XLSX, XLS, ODS or CSV file.")
MSG_EMPTY = N_("This file has no rows.")
MSG_TOO_LARGE = N_("This file is larger than %(mb)s MB.")
MSG_NO_HEADER = N_("No header row found: the first rows name none of the customer fields.")
MSG_NO_SHEET = N_("This workbook has no such sheet.")
MESSAGES = (MSG_NOT_A_SPREADSHEET, MSG_EMPTY, MSG_TOO_LARGE, MSG_NO_HEADER, MSG_NO_SHEET)

MAX_BYTES = 20 * 1024 * 1024  # the default upload limit
_HEADER_SCAN = 10  # rows searched for the header (titles and blank rows may come first)
_ZIP, _OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"


class FileProblem(Exception):
    """A file that cannot be imported; `message` is a msgid, `values` its parameters."""

    def __init__(self, message: str, **values: object) -> None:
        """Keep the msgid and its parameters for the page to translate."""
        super().__init__(message)
        self.message = message
        self.values = values


@dataclass
class Table:
    """The rows of one sheet: its header and the lines below it (1-based line numbers)."""

    sheets: list[str]
    sheet: str
    headers: list[str]
    rows: list[tuple[int, list[str]]]


@dataclass
class TableStream:
    """A sheet's header and an iterator over the lines below it, read as they are consumed.

    An upload of 100,000 rows is stored batch by batch from this, so the server never
    holds the whole sheet as Python lists at once.
    """

    sheets: list[str]
    sheet: str
    headers: list[str]
    rows: Iterator[tuple[int, list[str]]]


def cell_text(value: object) -> str:
    """A cell as text: whole numbers without ".0", dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def decode_csv(data: bytes) -> str:
    """The text of a CSV file: UTF-8 (with or without BOM), else GB18030 (GBK), else guessed.

    GBK is tried before guessing because a short GBK file is often mistaken for Korean.
    """
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    # Imported here: a worker that never reads an odd CSV does not hold it (2.5 MB).
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise FileProblem(MSG_NOT_A_SPREADSHEET)
    return str(best)


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    """Split a CSV file on the delimiter its first lines use most: , ; or tab."""
    text = decode_csv(data)
    if "\x00" in text:
        raise FileProblem(MSG_NOT_A_SPREADSHEET)
    sample = "\n".join(islice(io.StringIO(text), 20))
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = max(",;\t", key=sample.count)
    return ([c.strip() for c in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter))


def _workbook(data: bytes):
    """Open a workbook with calamine; anything it cannot read is not a spreadsheet."""
    import python_calamine  # here: only uploads need it, not every worker

    try:
        return python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises several types for a damaged file
        raise FileProblem(MSG_NOT_A_SPREADSHEET) from exc


def _header_at(rows: list[list[str]]) -> int:
    """The index of the header row: the first of the top rows naming a customer field."""
    for index, row in enumerate(rows[:_HEADER_SCAN]):
        if any(guess_mapping(row)):
            return index
    raise FileProblem(MSG_NO_HEADER)


def _fill_merged(headers: list[str]) -> list[str]:
    """A merged header cell is read once, in its first column: name the others after it."""
    filled, last = [], ""
    for h in headers:
        last = h or (f"{last} " if last else "")
        filled.append(h or last.strip())
    return filled


def read_table(
    data: bytes, filename: str, sheet: str | None = None, *, max_bytes: int = MAX_BYTES
) -> Table:
    """Read the file's chosen sheet (the first by default); raise FileProblem with the reason."""
    stream = open_table(data, filename, sheet, max_bytes=max_bytes)
    return Table(stream.sheets, stream.sheet, stream.headers, list(stream.rows))


def open_table(
    data: bytes, filename: str, sheet: str | None = None, *, max_bytes: int = MAX_BYTES
) -> TableStream:
    """Find the chosen sheet's header; its rows are read as the caller consumes them.

    Every refusal (too large, not a spreadsheet, empty, no header) is raised here, before
    anything is written; the rows that follow are only read, never judged.
    """
    if len(data) > max_bytes:
        raise FileProblem(MSG_TOO_LARGE, mb=_mb(max_bytes))
    if not data.strip():
        raise FileProblem(MSG_EMPTY)
    if data.startswith((_ZIP, _OLE)):
        book = _workbook(data)
        sheets = list(book.sheet_names)
        if not sheets:
            raise FileProblem(MSG_EMPTY)
        chosen = sheet if sheet else sheets[0]
        if chosen not in sheets:
            raise FileProblem(MSG_NO_SHEET)
        try:
            grid = book.get_sheet_by_name(chosen).iter_rows()
        except Exception as exc:  # a damaged sheet inside a readable workbook
            raise FileProblem(MSG_NOT_A_SPREADSHEET) from exc
        rows: Iterator[list[str]] = ([cell_text(v) for v in row] for row in grid)
    else:
        sheets, chosen = [], ""
        rows = _csv_rows(data)
    return _table(rows, sheets, chosen)


def _mb(limit: int) -> str:
    """A byte limit in whole megabytes as the message shows it."""
    return f"{limit / (1024 * 1024):g}"


def _table(rows: Iterable[list[str]], sheets: list[str], chosen: str) -> TableStream:
    """Find the header among the first rows; the body drops blank lines and is padded."""
    rows = iter(rows)
    top = list(islice(rows, _HEADER_SCAN))
    if not any(any(c for c in row) for row in top):
        # The header is looked for in the first rows only: content further down has none.
        raise FileProblem(MSG_NO_HEADER if any(any(c for c in r) for r in rows) else MSG_EMPTY)
    at = _header_at(top)
    headers = list(top[at])
    while headers and not headers[-1]:
        headers.pop()
    headers = _fill_merged(headers)
    width = len(headers)
    rest = chain(top[at + 1 :], rows)
    body = (
        (at + 2 + i, (row + [""] * width)[:width])
        for i, row in enumerate(rest)
        if any(c for c in row)
    )
    first = next(body, None)
    if first is None:
        raise FileProblem(MSG_EMPTY)
    return TableStream(sheets, chosen, headers, chain((first,), body))
