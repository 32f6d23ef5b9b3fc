"""Stream rows out as CSV (UTF-8 with BOM) or XLSX (openpyxl write-only), in constant memory."""

import csv
import io
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

import anyio
from openpyxl import Workbook

from domain.exports import neutralise_cell

CHUNK = 256 * 1024
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def cell(value: object, tz: ZoneInfo) -> object:
    """A value a spreadsheet cell can hold: local naive datetimes, joined lists, safe text."""
    if isinstance(value, datetime):
        return value.astimezone(tz).replace(tzinfo=None, microsecond=0)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return neutralise_cell(value)


def _csv_text(value: object) -> object:
    """CSV cells: dates as ISO text."""
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return "" if value is None else value


async def csv_stream(
    header: Sequence[str],
    batches: AsyncIterator[list[tuple]],
    convert: Callable[[tuple], Sequence[object]],
    tz: ZoneInfo,
) -> AsyncIterator[bytes]:
    """Yield the CSV bytes: a BOM (so Excel reads UTF-8 Chinese), the header, then each batch."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    async for batch in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([_csv_text(cell(v, tz)) for v in convert(row)] for row in batch)
        yield buffer.getvalue().encode("utf-8")


async def xlsx_stream(
    title: str,
    header: Sequence[str],
    batches: AsyncIterator[list[tuple]],
    convert: Callable[[tuple], Sequence[object]],
    tz: ZoneInfo,
) -> AsyncIterator[bytes]:
    """Yield an XLSX file: rows go to a write-only workbook on disk, then the file is sent.

    The workbook is written in a worker thread batch by batch, so the event loop keeps
    serving other requests and memory holds one batch at a time.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    sheet.append(list(header))
    async for batch in batches:
        rows = [[cell(v, tz) for v in convert(row)] for row in batch]
        await anyio.to_thread.run_sync(lambda rows=rows: [sheet.append(r) for r in rows])
    with tempfile.TemporaryFile() as handle:
        await anyio.to_thread.run_sync(workbook.save, handle)
        handle.seek(0)
        while chunk := await anyio.to_thread.run_sync(handle.read, CHUNK):
            yield chunk
