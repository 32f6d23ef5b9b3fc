"""The customer behind a URL: found only if the signed-in user may see it, else 404."""

from litestar.exceptions import NotFoundException
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Customer
from db.visibility import customer_get_visible
from domain.users import Actor


async def customer_or_404(db: AsyncSession, actor: Actor, customer_id: int) -> Customer:
    """Return the customer as stored now, or answer 404 (also when the actor may not see it)."""
    customer = await customer_get_visible(db, actor=actor, customer_id=customer_id)
    if customer is None:
        raise NotFoundException()
    return customer
