"""The customer table's indexes: a migrated database has exactly those db/models.py declares."""

from sqlalchemy import inspect

from db.models import Customer


def _declared() -> dict[str, tuple[str, ...]]:
    """Name -> columns of every index the model declares on customer (unique ones aside)."""
    return {
        ix.name: tuple(c.name for c in ix.columns)
        for ix in Customer.__table__.indexes
        if not ix.unique
    }


async def test_a_migrated_database_has_the_declared_customer_indexes(db):
    conn = await db.connection()

    def found(sync_conn) -> dict[str, tuple[str, ...]]:
        return {
            ix["name"]: tuple(ix["column_names"])
            for ix in inspect(sync_conn).get_indexes("customer")
            if not ix.get("unique")
        }

    assert await conn.run_sync(found) == _declared()
