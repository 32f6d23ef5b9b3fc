"""Spreadsheet files the import tests build: XLSX with Chinese headers, GBK and BOM CSV."""

import csv
import io
from collections.abc import Sequence

from openpyxl import Workbook


def csv_bytes(
    rows: Sequence[Sequence[object]], *, encoding: str = "utf-8", delimiter: str = ","
) -> bytes:
    """A CSV file as Excel writes it in that encoding ("utf-8-sig" adds the BOM)."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(sheets: dict[str, Sequence[Sequence[object]]], *, merged_title: str = "") -> bytes:
    """An XLSX workbook with these sheets; `merged_title` puts a merged title row on the first."""
    book = Workbook()
    book.remove(book.active)
    for n, (name, rows) in enumerate(sheets.items()):
        sheet = book.create_sheet(name)
        if merged_title and n == 0:
            sheet.append([merged_title])
            sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(rows[0]))
        for row in rows:
            sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
