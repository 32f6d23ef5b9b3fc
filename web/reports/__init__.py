"""Managers' Team page and the weekly report (HTML and PDF)."""
