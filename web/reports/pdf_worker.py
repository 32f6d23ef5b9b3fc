"""Weekly PDFs rendered in a child process, so the server itself never holds WeasyPrint.

WeasyPrint with a CJK font needs ~170 MB while it lays out and subsets a report, and
Python rarely hands that memory back to the system. Rendering in a child process keeps
the long-running server small, and a crash in the renderer cannot take the server down.
The child stays warm while PDFs are being downloaded (a manager clicking through teams)
and exits a minute after the last one, returning its memory. One child: renders queue,
so a burst of downloads cannot multiply the peak.
"""

import asyncio
import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from domain.report import WeeklyReport

log = logging.getLogger(__name__)

IDLE_SECONDS = 60.0  # the child exits this long after the last PDF
TASKS_PER_CHILD = 20  # and is replaced after this many, whatever happens to its memory

_executor: ProcessPoolExecutor | None = None
_in_flight = 0
_idle_timer: asyncio.TimerHandle | None = None


class PdfRenderFailed(Exception):
    """The child process died while rendering (killed, out of memory)."""


def _warm_up() -> None:
    """Runs when a child starts: import WeasyPrint and the catalogues before the first job."""
    import weasyprint  # noqa: F401

    import pdf.weekly  # noqa: F401
    import web.core.i18n  # noqa: F401  (parses the catalogues)


def _render_in_child(report: WeeklyReport, locale: str) -> tuple[bytes, int]:
    """Runs in the child: render with the request's locale; return the PDF and peak RSS (KB)."""
    from pdf.weekly import render_weekly_pdf
    from web.core.i18n import gettext, set_locale

    set_locale(locale)
    data = render_weekly_pdf(report, locale=locale, _=gettext)
    return data, _peak_rss_kb()


def _peak_rss_kb() -> int:
    """This process's peak RSS in KB (0 where /proc is missing)."""
    # VmHWM, not ru_maxrss: the latter survives exec and reports the parent's size.
    try:
        with open("/proc/self/status") as status:
            return next((int(ln.split()[1]) for ln in status if ln.startswith("VmHWM")), 0)
    except OSError:
        return 0


def _pool() -> ProcessPoolExecutor:
    """The renderer pool: one spawned child."""
    global _executor
    if _executor is None:
        _executor = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            max_tasks_per_child=TASKS_PER_CHILD,
            initializer=_warm_up,
        )
    return _executor


def _noop() -> None:
    """A job that only makes the pool start (and warm up) its child."""


def prepare() -> None:
    """Start the renderer child ahead of a likely PDF: the report page has just opened.

    The first PDF of a cold child pays ~3 s for starting Python, WeasyPrint and the fonts;
    by the time the manager has read the page and tapped Download PDF, that is done.
    """
    if _executor is None:
        _pool().submit(_noop)
        _restart_idle_timer(asyncio.get_running_loop())


def _restart_idle_timer(loop: asyncio.AbstractEventLoop) -> None:
    """(Re)arm the timer that lets an idle child exit."""
    global _idle_timer
    if _idle_timer is not None:
        _idle_timer.cancel()
    _idle_timer = loop.call_later(IDLE_SECONDS, _stop_if_idle)


def _stop_if_idle() -> None:
    """Timer callback: let the child exit when no PDF is being rendered."""
    if _in_flight == 0:
        shutdown()


async def render_weekly_pdf_in_child(report: WeeklyReport, *, locale: str) -> bytes:
    """Render the weekly report as PDF bytes in the child process."""
    global _executor, _in_flight
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    _in_flight += 1
    try:
        data, peak_kb = await loop.run_in_executor(_pool(), _render_in_child, report, locale)
    except BrokenProcessPool as exc:
        log.error("PDF renderer process died; starting a new one for the next PDF")
        _executor = None
        raise PdfRenderFailed() from exc
    finally:
        _in_flight -= 1
        _restart_idle_timer(loop)
    log.info(
        "weekly PDF: %d bytes in %.2f s; renderer peak RSS %.0f MB",
        len(data),
        time.perf_counter() - started,
        peak_kb / 1024,
    )
    return data


def shutdown() -> None:
    """Stop the renderer child (idle, or the app is shutting down)."""
    global _executor, _idle_timer
    if _idle_timer is not None:
        _idle_timer.cancel()
        _idle_timer = None
    if _executor is not None:
        _executor.shutdown(wait=False, cancel_futures=True)
        _executor = None
