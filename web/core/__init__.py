"""App plumbing: settings, sessions, errors, guards, HTMX seam, i18n, templating, static."""
