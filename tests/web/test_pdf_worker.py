"""Weekly PDFs render in a child process: the server never loads WeasyPrint, idle children exit."""

import asyncio
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from domain.report import weekly_report
from web.reports import pdf_worker


def _small_report():
    return weekly_report(
        team_name="华东销售一组",
        iso_year=2026,
        iso_week=47,
        reps=[],
        customers=[],
        visits=[],
        moves=[],
        tz=ZoneInfo("Asia/Shanghai"),
        generated_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
        generated_by="李伟",
    )


def test_server_process_renders_a_pdf_without_importing_weasyprint(tmp_path):
    script = textwrap.dedent(
        """
        import asyncio, sys
        from tests.web.test_pdf_worker import _small_report
        from web.reports import pdf_worker

        async def main():
            data = await pdf_worker.render_weekly_pdf_in_child(_small_report(), locale="zh_CN")
            pdf_worker.shutdown()
            return data

        data = asyncio.run(main())
        assert data.startswith(b"%PDF"), data[:20]
        assert "weasyprint" not in sys.modules, "the server process imported WeasyPrint"
        print("ok", len(data))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd="."
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("ok ")


async def test_idle_renderer_child_exits_and_a_new_one_serves_the_next_pdf(monkeypatch):
    monkeypatch.setattr(pdf_worker, "IDLE_SECONDS", 0.2)
    first = await pdf_worker.render_weekly_pdf_in_child(_small_report(), locale="en")
    assert first.startswith(b"%PDF")
    assert pdf_worker._executor is not None  # warm for the next PDF of a burst
    await asyncio.sleep(0.5)
    assert pdf_worker._executor is None  # idle: the child and its memory are gone
    second = await pdf_worker.render_weekly_pdf_in_child(_small_report(), locale="en")
    assert second.startswith(b"%PDF")
    pdf_worker.shutdown()
