"""Health check for load balancers and the process supervisor: the database and the PDF font."""

from litestar import Response, get
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from pdf.fonts import cjk_font_problem
from web.core.settings import Settings


def _answer(font_problem: str | None) -> Response[dict[str, str]]:
    """ok, or 503 with the reason Chinese would print as boxes in the PDFs."""
    if font_problem:
        return Response({"status": "fail", "cjk_font": font_problem}, status_code=503)
    return Response({"status": "ok"})


@get("/healthz", name="health", exclude_from_csrf=True, cache=False)
async def health(db: AsyncSession, settings: Settings) -> Response[dict[str, str]]:
    """Answer ok when the database answers and the PDFs have a CJK font; else 503 and why.

    Tests replace the font check through settings.extra["cjk_font_problem"].
    """
    await db.execute(text("SELECT 1"))
    return _answer(settings.extra.get("cjk_font_problem", cjk_font_problem)())
