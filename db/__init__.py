"""Storage: SQLModel tables, the engine and session, query and command functions, migrations."""
