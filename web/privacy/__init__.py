"""Personal data: the audit log page and privacy requests (PIPL)."""
