"""The weekly report PDF: real CJK font, escaped names, labels translated, headers on every page."""

import gettext
import io
import random
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from selectolax.lexbor import LexborHTMLParser

from domain.cadence import DEFAULT_CADENCE_DAYS
from domain.enums import Level, LossReason, Method, Stage, Status
from domain.report import (
    CustomerRow,
    RepInfo,
    StageMove,
    VisitRow,
    week_bounds,
    weekly_report,
)
from pdf.weekly import MSGIDS, css_string, page_counter_css, render_html, render_weekly_pdf

SH = ZoneInfo("Asia/Shanghai")
PO_FILE = Path(__file__).parents[2] / "locale" / "zh_CN" / "LC_MESSAGES" / "report.po"
TEAM = "华东销售一组"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
COMPANY = (
    "华东机械",
    "宏达贸易",
    "鑫源科技",
    "东方建材",
    "Acme Trading",
    "新世纪物流",
    "Nordic AB",
)

needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils")


def sample_report(*, reps: int = 20, customers: int = 400, visits: int = 2000, seed: int = 7):
    """A deterministic team week: Chinese names, one `<b>x</b>` customer, all sections filled.

    Visits go to the first 60% of customers (mostly by their owner); the rest are dormant,
    so the silent list holds about 150 customers.
    """
    rnd = random.Random(seed)
    start, end = week_bounds(2026, 47, SH)
    prev_start = start - timedelta(days=7)
    team = [RepInfo(i + 1, SURNAMES[i % 20] + GIVEN[(i * 7) % 20]) for i in range(reps)]
    owner_of = {cid: team[cid % reps] for cid in range(1, customers + 1)} if reps else {}
    active = list(owner_of)[: customers * 6 // 10]
    visit_rows = []
    for _ in range(visits if active else 0):
        cid = rnd.choice(active)
        user = owner_of[cid] if rnd.random() < 0.8 else rnd.choice(team)
        at = prev_start + timedelta(days=rnd.uniform(0, 14))
        visit_rows.append(VisitRow(cid, user.id, rnd.choice(list(Method)), at))
    last_seen: dict[int, datetime] = {}
    for v in visit_rows:
        last_seen[v.customer_id] = max(v.at, last_seen.get(v.customer_id, v.at))

    rows = []
    for cid, owner in owner_of.items():
        level = rnd.choice(list(Level))
        created = end - timedelta(days=rnd.uniform(0.5, 400))
        last = last_seen.get(cid)
        if last is None and rnd.random() < 0.9:
            last = max(created, prev_start - timedelta(days=rnd.uniform(1, 90)))
        due_from = (last or created).astimezone(SH).date()
        status = Status.LOST if cid % 17 == 0 else rnd.choice([Status.POTENTIAL, Status.INTENT])
        rows.append(
            CustomerRow(
                id=cid,
                name="<b>x</b>" if cid == 1 else f"{rnd.choice(COMPANY)}{cid}号",
                owner_id=owner.id,
                owner_name=owner.name,
                level=level,
                status=status,
                stage=rnd.choice(list(Stage)),
                created_at=created,
                last_visit_at=last,
                next_follow_up_on=due_from + timedelta(days=DEFAULT_CADENCE_DAYS[level]),
                completeness=rnd.random(),
                loss_reason=rnd.choice(list(LossReason)) if status == Status.LOST else None,
            )
        )
    moves = []
    stages = list(Stage)
    for c in rows[:: max(1, customers // 40)]:
        at = start + timedelta(days=rnd.uniform(0, 7))
        by = rnd.choice(team).name
        if c.status == Status.LOST or c.id == 1:
            reason = c.loss_reason or LossReason.PRICE
            moves.append(
                StageMove(c.id, c.name, by, None, None, Status.INTENT, Status.LOST, reason, at)
            )
        elif c.stage != Stage.LEAD:
            before = stages[stages.index(c.stage) - 1]
            moves.append(StageMove(c.id, c.name, by, before, c.stage, None, None, None, at))
    return weekly_report(
        team_name=TEAM,
        iso_year=2026,
        iso_week=47,
        reps=team,
        customers=rows,
        visits=visit_rows,
        moves=moves,
        tz=SH,
        generated_at=datetime(2026, 11, 23, 1, 30, tzinfo=UTC),
        generated_by="王经理",
    )


def zh_gettext():
    """The zh_CN catalogue compiled the way the web layer loads it (.po -> .mo -> gettext)."""
    with PO_FILE.open("rb") as f:
        catalog = read_po(f)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf).gettext


def pdftotext(pdf: bytes, *pages: int) -> str:
    """Extract a PDF's text (optionally one page range) with poppler."""
    args = ["pdftotext", "-layout"]
    if pages:
        args += ["-f", str(pages[0]), "-l", str(pages[-1])]
    return subprocess.run(
        [*args, "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


def page_count(pdf: bytes) -> int:
    """Number of pages, from pdfinfo."""
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout
    return int(re.search(rb"Pages:\s+(\d+)", info)[1])


@pytest.fixture(scope="module")
def report():
    """A full-size team week."""
    return sample_report()


@pytest.fixture(scope="module")
def zh_pdf(report):
    """The report rendered in Simplified Chinese."""
    return render_weekly_pdf(report, locale="zh_CN", _=zh_gettext())


@pytest.fixture(scope="module")
def en_pdf(report):
    """The report rendered with the English msgids."""
    return render_weekly_pdf(report, locale="en")


def test_pdf_bytes(en_pdf, zh_pdf):
    assert en_pdf.startswith(b"%PDF-")
    assert zh_pdf.startswith(b"%PDF-")


@needs_poppler
def test_zh_pdf_embeds_a_cjk_font(zh_pdf):
    fonts = subprocess.run(
        ["pdffonts", "-"], input=zh_pdf, capture_output=True, check=True
    ).stdout.decode()
    # WeasyPrint names the subset e.g. "TSPJMR+Noto-Sans-CJK-SC".
    cjk = [line for line in fonts.splitlines() if "notosanscjk" in line.lower().replace("-", "")]
    assert cjk, fonts
    # name type encoding emb sub uni object ID: every CJK font is embedded (as a subset).
    assert all(line.split()[-5] == "yes" for line in cjk), fonts
    # One weight throughout (headings stand out by size and colour): a second CJK face
    # would be another ~20 MB font to load and subset for every PDF.
    assert len(fonts.splitlines()) == 3 and len(cjk) == 1, fonts
    assert "Bold" not in cjk[0], fonts


@needs_poppler
def test_zh_pdf_text(report, zh_pdf):
    text = pdftotext(zh_pdf)
    assert TEAM in text
    assert "2026-W47" in text
    assert "2026-11-16 – 2026-11-22" in text
    for rep in report.reps:
        assert rep.rep_name in text
    for label in (
        "周报",
        "核心指标",
        "每日拜访",
        "阶段漏斗",
        "流失客户",
        "沉默客户",
        "周一",
        "周日",
    ):
        assert label in text
    assert "由 王经理 于 2026-11-23 09:30 生成" in text
    pages = page_count(zh_pdf)
    assert f"第 1 页，共 {pages} 页" in pdftotext(zh_pdf, 1)


@needs_poppler
def test_names_are_printed_literally(en_pdf, zh_pdf):
    assert "<b>x</b>" in pdftotext(en_pdf)
    assert "<b>x</b>" in pdftotext(zh_pdf)


@needs_poppler
def test_every_page_has_header_and_page_number(en_pdf):
    pages = page_count(en_pdf)
    assert pages >= 3
    for n in range(1, pages + 1):
        text = pdftotext(en_pdf, n)
        assert TEAM in text and "2026-W47" in text, n
        assert f"Page {n} of {pages}" in text, n
        assert "Generated 2026-11-23 09:30 by 王经理" in text, n


def test_html_escapes_names(report):
    page = render_html(report, locale="en")
    assert "<b>x</b>" not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page


def test_chart_has_a_bar_and_label_per_day(report):
    tree = LexborHTMLParser(render_html(report, locale="en"))
    svg = tree.css_first("svg.chart")
    assert len(svg.css("rect")) == 7
    labels = [t.text() for t in svg.css("text")]
    for d in report.visits_per_day:
        assert str(d.visits) in labels
    assert labels[1:3] == ["Mon", "11-16"]


def test_all_msgids_are_declared(report):
    used = set()

    def record(msgid: str) -> str:
        used.add(msgid)
        return msgid

    render_html(report, locale="en", _=record)
    empty = sample_report(reps=0, customers=0, visits=0)
    render_html(empty, locale="en", _=record)
    assert used <= set(MSGIDS), used - set(MSGIDS)


def test_po_file_translates_every_msgid():
    with PO_FILE.open("rb") as f:
        catalog = read_po(f)
    assert catalog.charset.lower() == "utf-8"
    translated = {m.id: m.string for m in catalog if m.id}
    assert set(translated) == set(MSGIDS)
    for msgid, msgstr in translated.items():
        assert msgstr, msgid
        assert sorted(re.findall(r"\{\w+\}", msgid)) == sorted(re.findall(r"\{\w+\}", msgstr))
    _ = zh_gettext()
    assert [_(s) for s in ("Lead", "Won", "Price too high", "Field visit", "Lost")] == [
        "潜在客户",
        "成交",
        "价格过高",
        "实地拜访",
        "流失",
    ]


def test_long_lists_are_cut_with_a_note(report):
    assert len(report.silent) > 50
    tree = LexborHTMLParser(render_html(report, locale="en"))
    assert len(tree.css(".silent .line")) == 50
    notes = [p.text() for p in tree.css("p.note")]
    assert f"Showing 50 of {len(report.silent)}; the full list is in Kehu." in notes
    full = LexborHTMLParser(render_html(report, locale="en", max_rows=1000))
    assert len(full.css(".silent .line")) == len(report.silent)


def test_empty_week_renders():
    empty = sample_report(reps=0, customers=0, visits=0)
    assert render_weekly_pdf(empty, locale="en").startswith(b"%PDF-")


def test_css_strings_cannot_break_out():
    assert css_string('a"b\\c</style>') == '"a\\22 b\\5c c\\3c /style\\3e "'
    assert page_counter_css("Page {page} of {pages}") == (
        '"Page " counter(page) " of " counter(pages)'
    )
    assert page_counter_css("第 {page} 页，共 {pages} 页") == (
        '"第 " counter(page) " 页，共 " counter(pages) " 页"'
    )
    assert page_counter_css("{page}/{pages}") == 'counter(page) "/" counter(pages)'
    assert page_counter_css("") == '""'


def pdf_words(pdf: bytes, page: int) -> list[tuple[str, float, float]]:
    """The words of one page with their left edge and top, in points (pdftotext -bbox)."""
    out = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(page), "-l", str(page), "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout.decode()
    found = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)</word>', out)
    return [(text, float(x), float(y)) for x, y, text in found]


def _on_line(words: list[tuple[str, float, float]], y: float) -> list[tuple[str, float]]:
    return sorted((w, x) for w, x, wy in words if abs(wy - y) < 1.5)


@needs_poppler
def test_rep_figures_stand_under_their_headers(report, en_pdf):
    # The figures print as one tab-stopped text per row: each must start where its
    # header does, for every rep on the page, whatever its digits.
    words = pdf_words(en_pdf, 1)
    y_of = {w: y for w, _x, y in reversed(words)}  # the first occurrence of each word
    top = _on_line(words, y_of["Touched"])
    methods = _on_line(words, y_of["Phone"])
    header_x = [
        next(x for w, x in top if w == "Visits"),
        *(x for w, x in sorted(methods, key=lambda wx: wx[1]) if w != "visit"),
        *(next(x for w, x in top if w == label) for label in ("Touched", "New", "Overdue")),
        next(x for w, x in top if w == "Completeness"),
        next(x for w, x in top if w == "A"),
    ]
    assert len(header_x) == 5 + len(Method) + 1
    rows = [rep for rep in report.reps if rep.rep_name in y_of]
    assert len(rows) >= 10
    for rep in rows:
        line = sorted(
            ((w, x) for w, x in _on_line(words, y_of[rep.rep_name]) if w != rep.rep_name),
            key=lambda wx: wx[1],
        )
        figures = [w for w, _x in line]
        assert figures[: 4 + len(Method)] == [
            str(rep.visits),
            *(str(rep.visits_by_method[m]) for m in Method),
            str(rep.customers_touched),
            str(rep.new_customers),
            str(rep.overdue),
        ], rep.rep_name
        assert figures[4 + len(Method) :] == [
            f"{round(rep.completeness * 100)}%",
            *rep.coverage_text.split(),
        ], rep.rep_name
        starts = [x for _w, x in line][: len(header_x)]
        assert all(abs(a - b) < 0.5 for a, b in zip(starts, header_x, strict=True)), (
            rep.rep_name,
            starts,
            header_x,
        )
