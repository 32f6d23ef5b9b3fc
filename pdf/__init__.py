"""Report rendering: ready-made report data in, PDF bytes out (imports domain only)."""
