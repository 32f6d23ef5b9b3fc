"""Business rules of Kehu in plain Python: no web, database or PDF libraries."""
