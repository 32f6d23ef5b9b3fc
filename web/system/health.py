"""Health check for load balancers and the process supervisor."""

from litestar import get
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession


@get("/healthz", name="health", exclude_from_csrf=True, cache=False)
async def health(db: AsyncSession) -> dict[str, str]:
    """Answer ok when the database answers."""
    await db.execute(text("SELECT 1"))
    return {"status": "ok"}
