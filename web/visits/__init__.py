"""Visits: record in two taps, undo, details, the customer page's Visits region."""
