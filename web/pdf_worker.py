"""Weekly PDFs rendered in a short-lived child process, so the server never holds WeasyPrint.

WeasyPrint with a CJK font needs ~100 MB while it lays out and subsets a report, and
Python rarely hands that memory back to the system. Rendering in a child process that
exits after each PDF keeps the long-running server small (and a crash in the renderer
cannot take the server down). One child at a time: renders queue, as they did behind a
lock before, so a burst of downloads cannot multiply the peak.
"""

import asyncio
import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from domain.report import WeeklyReport

log = logging.getLogger(__name__)

_executor: ProcessPoolExecutor | None = None


class PdfRenderFailed(Exception):
    """The child process died while rendering (killed, out of memory)."""


def _warm_up() -> None:
    """Runs when a child starts: import WeasyPrint now, not when a manager is waiting."""
    import weasyprint  # noqa: F401

    import pdf.weekly  # noqa: F401


def _render_in_child(report: WeeklyReport, locale: str) -> tuple[bytes, int]:
    """Runs in the child: render with the request's locale; return the PDF and peak RSS (KB)."""
    from pdf.weekly import render_weekly_pdf
    from web.i18n import gettext, set_locale

    set_locale(locale)
    data = render_weekly_pdf(report, locale=locale, _=gettext)
    # VmHWM, not ru_maxrss: the latter survives exec and reports the parent's size.
    with open("/proc/self/status") as status:
        peak_kb = next((int(line.split()[1]) for line in status if line.startswith("VmHWM")), 0)
    return data, peak_kb


def _pool() -> ProcessPoolExecutor:
    """The renderer pool: one spawned child, replaced (and warmed up) after every PDF."""
    global _executor
    if _executor is None:
        _executor = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            max_tasks_per_child=1,
            initializer=_warm_up,
        )
    return _executor


async def render_weekly_pdf_in_child(report: WeeklyReport, *, locale: str) -> bytes:
    """Render the weekly report as PDF bytes in a child process."""
    global _executor
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    try:
        data, peak_kb = await loop.run_in_executor(_pool(), _render_in_child, report, locale)
    except BrokenProcessPool as exc:
        log.error("PDF renderer process died; starting a new one for the next PDF")
        _executor = None
        raise PdfRenderFailed() from exc
    log.info(
        "weekly PDF: %d bytes in %.2f s; renderer peak RSS %.0f MB",
        len(data),
        time.perf_counter() - started,
        peak_kb / 1024,
    )
    return data


def shutdown() -> None:
    """Stop the renderer pool (app shutdown)."""
    global _executor
    if _executor is not None:
        _executor.shutdown(wait=False, cancel_futures=True)
        _executor = None
