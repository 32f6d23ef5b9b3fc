"""A catch-all route so unknown pages get the 404 page with the user's session and language."""

from litestar import get
from litestar.exceptions import NotFoundException


@get("/{path:path}", name="notfound", include_in_schema=False, sync_to_thread=False)
def not_found(path: str) -> None:
    """Answer 404 for any path no other route claims."""
    raise NotFoundException()
