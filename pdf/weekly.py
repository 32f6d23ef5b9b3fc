"""The weekly manager report as an A4 PDF, rendered with WeasyPrint from an escaped template."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import jinja2

from domain.enums import Level
from domain.labels import HEADLINES, LOSS_REASONS, METHODS, STAGES, STATUSES
from domain.report import METHOD_ORDER, MoveChange, RepRow, WeeklyReport, move_changes
from pdf.fonts import FONT_STACK, write_pdf

Translate = Callable[[str], str]

WEEKDAY_LABELS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Every other msgid the template passes to `_`; placeholders use str.format names.
TEXT_MSGIDS: tuple[str, ...] = (
    "Weekly report",
    "Generated {when} by {who}",
    "Page {page} of {pages}",
    "Headline numbers",
    "Last week: {n}",
    "Reps",
    "Rep",
    "Visits",
    "Visits by method",
    "Touched",
    "New",
    "Overdue",
    "A coverage",
    "Completeness",
    "Visits per day",
    "Stage funnel",
    "Stage",
    "Customers",
    "Of which lost",
    "Reached",
    "Conversion to next",
    "Stage moves this week",
    "Date",
    "Customer",
    "By",
    "Status",
    "Lost customers",
    "Owner",
    "Reason",
    "Customers going silent",
    "No visit for twice the cadence: A {a} days, B {b} days, C {c} days.",
    "Level",
    "Last visit",
    "Days without visit",
    "{n} days without visit",
    "Stage: {before} → {after}",
    "Stage: {after}",
    "Status: {before} → {after}",
    "Status: {after}",
    "by {name}",
    "automatically",
    "Never",
    "Pool",
    "None this week.",
    "None.",
    "Showing {shown} of {total}; the full list is in Kehu.",
    "Public pool",
    "Claims",
    "Releases",
    "Returns",
)
MSGIDS: tuple[str, ...] = tuple(
    dict.fromkeys(
        (
            *TEXT_MSGIDS,
            *HEADLINES.values(),
            *STAGES.values(),
            *STATUSES.values(),
            *LOSS_REASONS.values(),
            *METHODS.values(),
            *WEEKDAY_LABELS,
        )
    )
)

# WeasyPrint spends ~5 ms per table row, so long lists are cut to keep a report near 1 s.
MAX_ROWS = 50

_CHART_W, _CHART_H = 640, 190
# A4 with 13 mm side margins leaves 184 mm for the tables.
_SIDE_MM = 13
_WIDTH_PX = (210 - 2 * _SIDE_MM) * 96 / 25.4
# WeasyPrint rounds a tab-size down to whole px, and Pango then puts the stops about 1.019
# times that far apart (measured with pdftotext -bbox: 45 px stops 45.85 px apart, within
# 0.2 pt), so the header columns are set to the stops' real width;
# tests/pdf/test_weekly_pdf.py::test_rep_figures_stand_under_their_headers checks it.
_TAB_STOP_SCALE = 1.019


@dataclass(frozen=True)
class TabColumns:
    """A table whose figures print as one tab-separated text per row, under header cells.

    Each figure column is `slots` tab stops wide; a figure always fits in one stop, so the
    tabs after it land on the column's right edge whatever its digits. The name column
    takes about `name_share` of the width (and what the whole px leave over).
    """

    name_share: float
    slots: tuple[int, ...]

    @property
    def tab_px(self) -> int:
        """The width of one tab stop, in whole CSS px."""
        return int(_WIDTH_PX * (1 - self.name_share) / sum(self.slots))

    @property
    def widths(self) -> list[float]:
        """The name column's width and each figure column's (where its stops fall), in px."""
        figures = [round(n * self.tab_px * _TAB_STOP_SCALE, 3) for n in self.slots]
        return [round(_WIDTH_PX - sum(figures), 3), *figures]

    def line(self, values: Sequence[object]) -> str:
        """One row's figures, each followed by as many tabs as its column has stops."""
        return "".join(f"{v}" + "\t" * n for v, n in zip(values, self.slots, strict=True))


_CHART_TOP, _CHART_BOTTOM, _CHART_SIDE = 22, 38, 8

_TEMPLATE = """\
{%- macro more(total) -%}
{% if total > max_rows %}<p class="note">
{{- _("Showing {shown} of {total}; the full list is in Kehu.").format(
    shown=max_rows, total=total) }}</p>{% endif %}
{%- endmacro -%}
{%- macro cols(widths) -%}
<colgroup>{% for w in widths %}<col style="width: {{ w }}%">{% endfor %}</colgroup>
{%- endmacro -%}
{%- macro px_cols(widths) -%}
<colgroup>{% for w in widths %}<col style="width: {{ w }}px">{% endfor %}</colgroup>
{%- endmacro -%}
<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<title>{{ _("Weekly report") }} {{ r.team_name }} {{ r.week_label }}</title>
<style>
@page {
  size: A4;
  margin: 20mm {{ side_mm }}mm 15mm {{ side_mm }}mm;
  @top-center { content: element(header); width: 100%; vertical-align: bottom; }
  @bottom-right { content: {{ page_counter_css|safe }}; font-size: 7.5pt; color: #555; }
}
/* One font weight throughout: every CJK weight is a second ~20 MB face for WeasyPrint to
   load and subset (~0.2 s a PDF), so headings stand out by size and colour instead. */
html { font-family: {{ font_stack|safe }}; font-size: 8.5pt; color: #1f2328; font-weight: 400; }
body { margin: 0; }
h1, h2 { font-weight: 400; color: #0b3d75; }
h1 { font-size: 17pt; margin: 0 0 1mm; }
h2 { font-size: 11.5pt; margin: 6mm 0 2mm; padding-bottom: 0.8mm; break-after: avoid;
     border-bottom: 0.8pt solid #0b3d75; }
.subtitle { color: #444; margin: 0 0 3mm; }
/* Fixed column widths and separate borders: auto layout measures every cell twice and the
   collapsing-border model resolves every cell edge, together about a third of the time. */
table { border-collapse: separate; border-spacing: 0; width: 100%; table-layout: fixed; }
th, td { padding: 1mm 1.2mm; text-align: left; vertical-align: top; }
th { background: #e3e9f1; color: #0b3d75; font-size: 7.5pt; font-weight: 400; }
tbody tr { break-inside: avoid; }
tbody tr:nth-child(even) { background: #f7f8fa; }
.num { text-align: right; white-space: nowrap; }
.muted { color: #666; }
.empty { color: #666; }
table.running { position: running(header); font-size: 7.5pt; color: #444;
                border-bottom: 0.5pt solid #9aa4b2; }
table.running td { padding: 0 0 1mm; background: none; }
table.running td + td { text-align: right; }
.headline { border-spacing: 1.6mm 0; }
.headline td { border: 0.6pt solid #d0d5dc; padding: 2mm; }
.headline .label { color: #444; font-size: 7.5pt; height: 7mm; }
.headline .value { font-size: 18pt; line-height: 1.15; color: #0b3d75; }
.up-good, .down-good { color: #15803d; }
.up-bad, .down-bad { color: #b91c1c; }
.flat { color: #666; }
th.group { text-align: center; border-bottom: 0.5pt solid #c7cdd6; }
/* The per-rep figures are one text per row, lined up by tab stops one column wide under
   the header cells: WeasyPrint lays out a table cell in ~0.6 ms, a tab in next to nothing,
   so 50 reps cost two cells a row instead of up to twelve. */
td.tabbed { white-space: pre; }
.reps td.tabbed { tab-size: {{ reps.tab_px }}px; }
.pool td.tabbed { tab-size: {{ pool.tab_px }}px; }
.bar { height: 2.4mm; margin-top: 0.6mm; background: #3b82f6; }
.chart { width: 100%; height: auto; }
.note { color: #555; margin: 0 0 2mm; }
table + .note { margin-top: 1.5mm; }
.reasons span { margin-right: 5mm; white-space: nowrap; }
/* Long lists are one line per entry: a paragraph lays out in a fraction of a table row's
   time (WeasyPrint styles and measures every cell), and reads as well on paper. */
.line { margin: 0; padding: 0.7mm 1.2mm; break-inside: avoid; }
.lines .line:nth-child(even) { background: #f7f8fa; }
.lines + .note { margin-top: 1.5mm; }
</style>
</head>
<body>
<table class="running"><tr>
  <td>{{ r.team_name }} · {{ r.week_label }} · {{ date_range }}</td>
  <td>{{ _("Generated {when} by {who}").format(when=generated, who=r.generated_by) }}</td>
</tr></table>

<h1>{{ _("Weekly report") }} · {{ r.team_name }}</h1>
<p class="subtitle">{{ r.week_label }} · {{ date_range }}</p>

<h2>{{ _("Headline numbers") }}</h2>
<table class="headline"><tr>
{% for key, change, rise_is_good in r.headline.items() %}
  <td>
    <div class="label">{{ _(headline_labels[key]) }}</div>
    <div class="value">{{ change.value }}</div>
    <div class="{{ delta_class(change.delta, rise_is_good) }}">{{ change.delta_text }}</div>
    <div class="muted">{{ _("Last week: {n}").format(n=change.previous) }}</div>
  </td>
{% endfor %}
</tr></table>

<h2>{{ _("Reps") }}</h2>
{% if r.reps %}
<table class="reps">
  {{ px_cols(reps.widths) }}
  <thead>
    <tr>
      <th rowspan="2">{{ _("Rep") }}</th>
      <th rowspan="2">{{ _("Visits") }}</th>
      <th colspan="{{ methods|length }}" class="group">{{ _("Visits by method") }}</th>
      <th rowspan="2">{{ _("Touched") }}</th>
      <th rowspan="2">{{ _("New") }}</th>
      <th rowspan="2">{{ _("Overdue") }}</th>
      <th rowspan="2">{{ _("Completeness") }}</th>
      <th rowspan="2">{{ _("A coverage") }}</th>
    </tr>
    <tr>{% for m in methods %}<th>{{ _(method_labels[m]) }}</th>{% endfor %}</tr>
  </thead>
  <tbody>
  {%- for row in r.reps %}
    <tr><td>{{ row.rep_name }}</td><td class="tabbed" colspan="{{ reps.slots|length }}">
      {{- reps.line([row.visits] + row_methods(row) + [row.customers_touched,
          row.new_customers, row.overdue, percent(row.completeness), coverage(row)]) }}</td></tr>
  {%- endfor %}
  </tbody>
</table>
{% else %}<p class="empty">{{ _("None.") }}</p>{% endif %}

<h2>{{ _("Public pool") }}</h2>
{% if r.pool %}
<table class="pool">
  {{ px_cols(pool.widths) }}
  <thead>
    <tr>
      <th>{{ _("Rep") }}</th><th>{{ _("Claims") }}</th>
      <th>{{ _("Releases") }}</th><th>{{ _("Returns") }}</th>
    </tr>
  </thead>
  <tbody>
  {%- for p in r.pool %}
    <tr><td>{{ p.rep_name }}</td><td class="tabbed" colspan="3">
      {{- pool.line([p.claims, p.releases, p.returns]) }}</td></tr>
  {%- endfor %}
  </tbody>
</table>
{% else %}<p class="empty">{{ _("None.") }}</p>{% endif %}
<h2>{{ _("Visits per day") }}</h2>
<svg class="chart" xmlns="http://www.w3.org/2000/svg"
     width="{{ chart.width }}" height="{{ chart.height }}"
     viewBox="0 0 {{ chart.width }} {{ chart.height }}" font-family="{{ font_stack }}">
  <line x1="{{ chart.side }}" y1="{{ chart.base }}" x2="{{ chart.width - chart.side }}"
        y2="{{ chart.base }}" stroke="#9aa4b2" stroke-width="1"/>
  {% for b in chart.bars %}
  <rect x="{{ b.x }}" y="{{ b.y }}" width="{{ b.w }}" height="{{ b.h }}" fill="#3b82f6"/>
  <text x="{{ b.cx }}" y="{{ b.y - 5 }}" text-anchor="middle" font-size="13"
        fill="#0b3d75">{{ b.value }}</text>
  <text x="{{ b.cx }}" y="{{ chart.base + 16 }}" text-anchor="middle" font-size="12"
        fill="#1f2328">{{ b.weekday }}</text>
  <text x="{{ b.cx }}" y="{{ chart.base + 31 }}" text-anchor="middle" font-size="10"
        fill="#666">{{ b.date }}</text>
  {% endfor %}
</svg>

<h2>{{ _("Stage funnel") }}</h2>
<table class="funnel">
  {{ cols([20, 11, 11, 11, 30, 17]) }}
  <thead><tr>
    <th>{{ _("Stage") }}</th><th class="num">{{ _("Customers") }}</th>
    <th class="num">{{ _("Of which lost") }}</th><th class="num">{{ _("Reached") }}</th>
    <th></th><th class="num">{{ _("Conversion to next") }}</th>
  </tr></thead>
  <tbody>
  {% for s in r.funnel %}
    <tr>
      <td>{{ _(stage_labels[s.stage]) }}</td>
      <td class="num">{{ s.count }}</td>
      <td class="num">{{ s.lost }}</td>
      <td class="num">{{ s.reached }}</td>
      <td><div class="bar" style="width: {{ bar_width(s.reached) }}%"></div></td>
      <td class="num">{{ percent(s.conversion) }}</td>
    </tr>
  {% endfor %}
  </tbody>
</table>

<h2>{{ _("Stage moves this week") }}</h2>
{% if r.moves %}
<div class="lines moves">
{%- for m in r.moves[:max_rows] %}
<p class="line">{{ when(m.at) }} · {{ m.customer_name }}
{%- for c in move_changes(m) %} · {{ change_text(c) }}{% endfor %} · {{ by(m.user_name) }}</p>
{%- endfor %}
</div>
{{ more(r.moves|length) }}
{% else %}<p class="empty">{{ _("None this week.") }}</p>{% endif %}

<h2>{{ _("Lost customers") }}</h2>
{% if r.lost %}
<p class="reasons">
{%- for rc in r.lost_reasons %}
<span>{{ _(reason_labels[rc.reason]) }}: {{ rc.count }}</span>
{%- endfor %}</p>
<div class="lines lost">
{%- for row in r.lost[:max_rows] %}
<p class="line">{{ when(row.at) }} · {{ row.customer_name }}
 · {{ row.owner_name or _("Pool") }}
{%- if row.stage %} · {{ _(stage_labels[row.stage]) }}{% endif %}
{%- if row.reason %} · {{ _(reason_labels[row.reason]) }}{% endif %} · {{ by(row.by_name) }}</p>
{%- endfor %}
</div>
{{ more(r.lost|length) }}
{% else %}<p class="empty">{{ _("None this week.") }}</p>{% endif %}

<h2>{{ _("Customers going silent") }}</h2>
<p class="note">{{ silent_note }}
{%- for level, n in r.silent_by_level %}
{{ " " if loop.first else " · " }}{{ level }}: {{ n }}
{%- endfor %}</p>
{% if r.silent %}
<div class="lines silent">
{%- for row in r.silent[:max_rows] %}
<p class="line">{{ row.customer_name }} · {{ row.level }}
 · {{ row.owner_name or _("Pool") }} · {{ _("Last visit") }}:
{{ day(row.last_visit_at) if row.last_visit_at else _("Never") }} ·
{{ _("{n} days without visit").format(n=row.days_silent) }}</p>
{%- endfor %}
</div>
{{ more(r.silent_total) }}
{% else %}<p class="empty">{{ _("None.") }}</p>{% endif %}
</body>
</html>
"""

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
_COMPILED = _ENV.from_string(_TEMPLATE)


def _identity(msgid: str) -> str:
    return msgid


def css_string(text: str) -> str:
    """Quote text as a CSS string, hex-escaping anything that could end the string or <style>."""
    out = []
    for ch in text:
        if ch.isalnum() or ch in " .,:;!?()-_/%·，：；。（）":
            out.append(ch)
        else:
            # A trailing space ends a CSS hex escape, so the next character is never absorbed.
            out.append(f"\\{ord(ch):x} ")
    return '"' + "".join(out) + '"'


def page_counter_css(template: str) -> str:
    """Turn a translated "Page {page} of {pages}" into a CSS `content` value with counters."""
    parts = []
    rest = template
    while rest:
        cut = min(
            (i for i in (rest.find("{page}"), rest.find("{pages}")) if i >= 0), default=len(rest)
        )
        if cut:
            parts.append(css_string(rest[:cut]))
        rest = rest[cut:]
        for token, counter in (("{pages}", "counter(pages)"), ("{page}", "counter(page)")):
            if rest.startswith(token):
                parts.append(counter)
                rest = rest[len(token) :]
                break
    return " ".join(parts) or '""'


def _chart(report: WeeklyReport, _: Translate) -> dict:
    """Lay out the visits-per-day bars in SVG user units."""
    days = report.visits_per_day
    base = _CHART_H - _CHART_BOTTOM
    usable = base - _CHART_TOP
    top = max((d.visits for d in days), default=0) or 1
    slot = (_CHART_W - 2 * _CHART_SIDE) / max(len(days), 1)
    bar_w = slot * 0.56
    bars = []
    for i, d in enumerate(days):
        h = round(usable * d.visits / top, 1)
        x = _CHART_SIDE + slot * i + (slot - bar_w) / 2
        bars.append(
            {
                "x": round(x, 1),
                "y": round(base - h, 1),
                "w": round(bar_w, 1),
                "h": h,
                "cx": round(x + bar_w / 2, 1),
                "value": d.visits,
                "weekday": _(WEEKDAY_LABELS[d.day.weekday()]),
                "date": f"{d.day:%m-%d}",
            }
        )
    return {
        "width": _CHART_W,
        "height": _CHART_H,
        "side": _CHART_SIDE,
        "base": base,
        "bars": bars,
    }


def move_change_text(c: MoveChange, _: Translate = _identity) -> str:
    """One side of a stage move in words: "Stage: Lead → First contact" (no dashes)."""
    labels = STAGES if c.what == "stage" else STATUSES
    after = _(labels[c.after])
    if c.before is None:
        msgid = "Stage: {after}" if c.what == "stage" else "Status: {after}"
        return _(msgid).format(after=after)
    msgid = "Stage: {before} → {after}" if c.what == "stage" else "Status: {before} → {after}"
    return _(msgid).format(before=_(labels[c.before]), after=after)


def by_text(name: str, _: Translate = _identity) -> str:
    """Who made a change: "by 张伟", or "automatically" when no person did."""
    return _("by {name}").format(name=name) if name else _("automatically")


def _delta_class(delta: int, rise_is_good: bool) -> str:
    if delta == 0:
        return "flat"
    if delta > 0:
        return "up-good" if rise_is_good else "up-bad"
    return "down-bad" if rise_is_good else "down-good"


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{round(share * 100)}%"


def render_html(
    report: WeeklyReport, *, locale: str, _: Translate = _identity, max_rows: int = MAX_ROWS
) -> str:
    """Return the report's print HTML (every dynamic value escaped); the PDF is made from it."""
    tz = report.tz

    def day(at: datetime) -> str:
        return f"{at.astimezone(tz):%Y-%m-%d}"

    def when(at: datetime) -> str:
        return f"{at.astimezone(tz):%m-%d %H:%M}"

    def change_text(c: MoveChange) -> str:
        return move_change_text(c, _)

    def by(name: str) -> str:
        return by_text(name, _)

    def fmt_day(d: date) -> str:
        return f"{d:%Y-%m-%d}"

    def coverage(row: RepRow) -> str:
        return row.coverage_text

    funnel_top = max((s.reached for s in report.funnel), default=0) or 1
    # Methods nobody used this week get no column: fewer figures, the same information.
    methods = [m for m in METHOD_ORDER if report.method_counts.get(m)] or list(METHOD_ORDER)
    cadence = report.cadence_days
    silent_note = _("No visit for twice the cadence: A {a} days, B {b} days, C {c} days.").format(
        a=2 * cadence[Level.A], b=2 * cadence[Level.B], c=2 * cadence[Level.C]
    )
    return _COMPILED.render(
        r=report,
        _=_,
        lang=locale.replace("_", "-"),
        font_stack=FONT_STACK,
        page_counter_css=page_counter_css(_("Page {page} of {pages}")),
        date_range=f"{fmt_day(report.first_day)} – {fmt_day(report.last_day)}",
        generated=f"{report.generated_at.astimezone(tz):%Y-%m-%d %H:%M}",
        headline_labels=HEADLINES,
        methods=methods,
        side_mm=_SIDE_MM,
        # Visits, the methods, touched, new, overdue; completeness and coverage have wider
        # headers ("Completeness" is 17 mm at 7.5 pt), so two stops each.
        reps=TabColumns(0.15, (1, *(1 for _m in methods), 1, 1, 1, 2, 2)),
        pool=TabColumns(0.4, (1, 1, 1)),
        row_methods=lambda row: [row.visits_by_method[m] for m in methods],
        method_labels=METHODS,
        stage_labels=STAGES,
        reason_labels=LOSS_REASONS,
        chart=_chart(report, _),
        silent_note=silent_note,
        max_rows=max_rows,
        delta_class=_delta_class,
        percent=_percent,
        bar_width=lambda n: round(100 * n / funnel_top, 1),
        coverage=coverage,
        day=day,
        when=when,
        move_changes=move_changes,
        change_text=change_text,
        by=by,
    )


def render_weekly_pdf(
    report: WeeklyReport, *, locale: str, _: Translate = _identity, max_rows: int = MAX_ROWS
) -> bytes:
    """Render the weekly report as A4 PDF bytes (CPU-bound: call it in a worker thread).

    The moves, lost and silent lists print at most `max_rows` rows each (silent ones most
    urgent first) with a "showing N of M" note; the HTML report carries the full lists.
    """
    html = render_html(report, locale=locale, _=_, max_rows=max_rows)
    return write_pdf(html)
