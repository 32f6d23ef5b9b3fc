"""Litestar web layer: app factory, controllers, guards, HTMX helpers, error handlers."""
