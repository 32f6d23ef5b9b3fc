"""What the customer page's Visits region needs (the visits feature extends it)."""

from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Customer
from db.visits import visit_list
from domain.users import Actor


async def visit_panel_context(db: AsyncSession, *, actor: Actor, customer: Customer) -> dict:
    """Load the visit list (and later the outcomes) for a customer page."""
    return {"visits": await visit_list(db, customer_id=customer.id)}
