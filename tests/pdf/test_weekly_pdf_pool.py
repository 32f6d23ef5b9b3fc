"""The weekly report PDF prints the same Public pool table per rep as the web page."""

import re
from dataclasses import replace

from domain.report import PoolRow
from pdf.weekly import render_weekly_pdf
from tests.pdf.test_weekly_pdf import needs_poppler, pdftotext, sample_report, zh_gettext


def _report():
    report = sample_report(reps=3, customers=30, visits=60)
    names = [r.rep_name for r in report.reps]
    pool = (PoolRow(names[0], 4, 1, 2), PoolRow(names[1], 0, 3, 0), PoolRow(names[2], 0, 0, 0))
    return replace(report, pool=pool), names


def _row(text: str, name: str) -> list[str]:
    """The numbers printed after the rep's name on the pool table's line."""
    section = text[text.index("Public pool") :] if "Public pool" in text else text
    line = next(line for line in section.splitlines() if line.strip().startswith(name))
    return re.findall(r"\d+", line[line.index(name) + len(name) :])


@needs_poppler
def test_the_pdf_shows_claims_releases_and_returns_per_rep():
    report, names = _report()
    text = pdftotext(render_weekly_pdf(report, locale="en"))
    assert "Public pool" in text
    assert all(h in text for h in ("Claims", "Releases", "Returns"))
    assert _row(text, names[0]) == ["4", "1", "2"]
    assert _row(text, names[1]) == ["0", "3", "0"]


@needs_poppler
def test_the_chinese_pdf_names_the_pool_table_in_chinese():
    report, names = _report()
    text = pdftotext(render_weekly_pdf(report, locale="zh_CN", _=zh_gettext()))
    section = text[text.index("公海") :]
    assert all(h in section for h in ("领取", "退回", "自动退回"))
    line = next(line for line in section.splitlines() if line.strip().startswith(names[0]))
    assert re.findall(r"\d+", line[line.index(names[0]) + len(names[0]) :]) == ["4", "1", "2"]
