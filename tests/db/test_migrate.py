"""Upgrading a company's existing SQLite database keeps every row (migrations rebuild tables)."""

import sqlite3

import pytest
from alembic import command
from sqlalchemy import create_engine, event

from db.engine import _sqlite_pragmas
from db.migrate import MigrationError, alembic_config, upgrade

pytestmark = pytest.mark.sqlite_only("rebuilding a table in batch mode is SQLite's own ALTER")


def _database_at(path, revision: str) -> None:
    """Create a database at an older revision with a user that other rows point at."""
    url = f"sqlite+aiosqlite:///{path}"
    cfg = alembic_config(url)
    engine = create_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", _sqlite_pragmas)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.exec_driver_sql(
            "INSERT INTO team (id, name, is_store, created_at) VALUES (1, '华东', 0, '2026-01-05')"
        )
        conn.exec_driver_sql(
            "INSERT INTO user (id, name, role, team_id, locale, active, webauthn_handle,"
            " created_at) VALUES (7, '王芳', 'rep', 1, 'zh_CN', 1, x'01', '2026-01-05')"
        )
        conn.exec_driver_sql(
            "INSERT INTO credential (user_id, credential_id, public_key, sign_count,"
            " transports, name, created_at) VALUES (7, x'02', x'03', 0, '[]', '手机',"
            " '2026-01-05')"
        )
        conn.exec_driver_sql(
            "INSERT INTO audit_event (at, actor_id, action, entity, entity_id, detail, ip)"
            " VALUES ('2026-01-05', 7, 'user.create', 'user', 7, '{}', '')"
        )
    engine.dispose()


def test_upgrading_a_database_whose_user_table_is_rebuilt_keeps_the_users_rows(tmp_path):
    """0010 rebuilds `user`; its passkeys and audit rows survive and point at the same user."""
    path = tmp_path / "company.db"
    _database_at(path, "0009_pool")

    upgrade(f"sqlite+aiosqlite:///{path}")

    conn = sqlite3.connect(path)
    assert conn.execute("SELECT name, may_handle_privacy FROM user").fetchall() == [("王芳", 0)]
    assert conn.execute("SELECT user_id, name FROM credential").fetchall() == [(7, "手机")]
    assert conn.execute("SELECT actor_id FROM audit_event").fetchall() == [(7,)]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()


def test_an_upgrade_that_fails_halfway_leaves_the_database_as_it_was(tmp_path):
    """Migrations before the failing one are rolled back too: the old revision stays whole."""
    path = tmp_path / "company.db"
    _database_at(path, "0006_sales")
    conn = sqlite3.connect(path)
    # Someone created a table of 0009 by hand: 0007 and 0008 succeed, then 0009 fails.
    conn.execute("CREATE TABLE pool_claim_count (user_id INTEGER)")
    conn.commit()
    conn.close()

    with pytest.raises(MigrationError):
        upgrade(f"sqlite+aiosqlite:///{path}")

    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0006_sales",)]
    customer_columns = [row[1] for row in conn.execute("PRAGMA table_info(customer)")]
    assert "data_basis" not in customer_columns  # 0007's column was rolled back
    assert conn.execute("SELECT name FROM user").fetchall() == [("王芳",)]
    conn.close()
