"""Sign-in page and sign-out (the passkey ceremonies build on this)."""

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from web.htmx import render, session_of


def safe_next(target: str | None) -> str:
    """Return a local path to go to after sign-in, never another site."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


class AuthController(Controller):
    """Sign in and sign out."""

    @get("/login", name="auth.login")
    async def login(self, request: Request, next: str | None = None) -> Template | Redirect:
        """Show the sign-in page (or go on when already signed in)."""
        if session_of(request).actor is not None:
            return Redirect(path=safe_next(next), status_code=303)
        return render(request, "login.html", {"next": safe_next(next)})

    @post("/logout", name="auth.logout")
    async def logout(self, request: Request) -> Redirect:
        """End the session server-side and go to the sign-in page."""
        session_of(request).end()
        return Redirect(path="/login", status_code=303)
