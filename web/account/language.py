"""Switch the interface language (kept on the user, or in a cookie before sign-in)."""

from litestar import Request, post
from litestar.datastructures import Cookie
from litestar.response import Redirect
from sqlmodel.ext.asyncio.session import AsyncSession

from db.users import user_set_locale
from web.core.forms import Form, field
from web.core.htmx import session_of
from web.core.i18n import LOCALES
from web.core.locale import LANG_COOKIE
from web.core.redirects import safe_next


@post("/language", name="language.set")
async def language_set(
    request: Request,
    db: AsyncSession,
    data: Form,
) -> Redirect:
    """Store the chosen language and go back to where the user was."""
    locale = field(data, "locale")
    back = safe_next(field(data, "next") or "/")
    if locale not in LOCALES:
        return Redirect(path=back, status_code=303)
    state = session_of(request)
    if state.user is not None:
        await user_set_locale(db, user_id=state.user.id, locale=locale)
        await db.commit()
    return Redirect(
        path=back,
        status_code=303,
        cookies=[Cookie(key=LANG_COOKIE, value=locale, max_age=365 * 86400, samesite="lax")],
    )
