"""Customers: list, search, the customer page, create and edit, contacts."""
