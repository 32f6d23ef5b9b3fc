"""The list of route handlers: each feature adds its controller here."""


def route_handlers() -> list:
    """Return every controller and route handler of the app."""
    from web.auth import AuthController
    from web.health import health
    from web.home import HomeController
    from web.language import language_set
    from web.notfound import not_found
    from web.placeholders import PlaceholderController

    return [AuthController, health, language_set, HomeController, PlaceholderController, not_found]
