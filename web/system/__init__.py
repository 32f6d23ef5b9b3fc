"""Health check and the catch-all 404 route."""
