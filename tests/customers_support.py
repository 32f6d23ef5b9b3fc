"""The customer tests' older helpers, now tests.factories (kept for files that import them)."""

from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Customer
from tests import factories

TODAY = factories.TODAY
actor = factories.actor


async def new_customer(db: AsyncSession, **kw) -> Customer:
    """Create a customer as the New customer form does (factories.customer, via_form=True)."""
    return await factories.customer(db, via_form=True, **kw)
