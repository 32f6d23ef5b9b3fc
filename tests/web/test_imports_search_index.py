"""An import writes each new customer's search-index row once, as the triggers would have."""

import pytest
from sqlalchemy import func, select, text

from db.models import Customer, SearchIndexGate
from db.search import customer_search, search_index_rebuild, search_index_table
from domain.enums import Role
from domain.users import Actor
from tests import factories as make
from tests.web.test_imports import _imported

HEADER = ["客户名称", "手机", "联系人", "联系人电话", "职务"]
ROWS = [
    HEADER,
    ["上海华东机械有限公司", "13912345678", "张伟明", "13911112222", "采购经理"],
    ["杭州新客户", "13912345679", "", "", ""],  # no contact
    ["宁波新客户", "13912345670", "李娜娜", "", ""],
    ["已有客户", "13800138000", "王芳", "13922223333", ""],  # duplicate: its contact added
]


async def _index_rows(db) -> list[tuple]:
    """Every row of the search index (SQLite customer_fts, PostgreSQL customer_trgm)."""
    name = search_index_table(db.bind.dialect.name)
    if name == "customer_fts":
        sql = "SELECT rowid, name, number, phone, pinyin, initials, contacts FROM customer_fts"
        return sorted(tuple(r) for r in await db.execute(text(sql)))
    return sorted(tuple(r) for r in await db.execute(text("SELECT id, doc FROM customer_trgm")))


async def test_imported_customers_have_the_index_rows_a_rebuild_gives(client, db, signed_in):
    team, _boss, _url, tree = await _imported(
        client, db, signed_in, rows=ROWS, duplicate_mode="fill_empty"
    )
    counts = {d.attributes["data-count"]: d.text() for d in tree.css("#import-summary dd")}
    assert counts == {"created": "3", "updated": "1", "skipped": "0", "failed": "0"}
    await make.customer(db, team=team, name="手工录入客户", phone="13700137000")
    written = await _index_rows(db)
    assert len(written) == await db.scalar(select(func.count()).select_from(Customer))
    conn = await db.connection()
    await conn.run_sync(search_index_rebuild)
    assert written == await _index_rows(db)
    # The gate is never left open for later writers.
    assert await db.scalar(select(func.count()).select_from(SearchIndexGate)) == 0


async def test_imported_customers_are_found_by_contact_pinyin_and_number(client, db, signed_in):
    team, boss, _url, _tree = await _imported(client, db, signed_in, rows=ROWS)
    manager = Actor(id=boss.id, name=boss.name, role=Role.MANAGER, team_id=team.id)
    shanghai = (
        await db.execute(select(Customer).where(Customer.name == "上海华东机械有限公司"))
    ).scalar_one()

    async def names(q: str) -> list[str]:
        return [r.name for r in await customer_search(db, actor=manager, q=q)]

    # 3+ characters: answered by the full-text index alone.
    assert await names("张伟明") == ["上海华东机械有限公司"]
    assert await names("李娜娜") == ["宁波新客户"]
    assert await names("shhd") == ["上海华东机械有限公司"]
    assert await names(shanghai.number[-5:]) == ["上海华东机械有限公司"]
    assert "上海华东机械有限公司" in await names("华东机械")


@pytest.mark.sqlite_only("PRAGMA cache_size is SQLite's page cache")
async def test_an_import_leaves_no_pooled_connection_with_its_big_page_cache(client, db, signed_in):
    await _imported(client, db, signed_in, rows=ROWS)
    engine = db.bind
    # Every connection the pool holds (the batches' too) is handed out at once here.
    conns = [await engine.connect() for _ in range(engine.pool.size())]
    try:
        sizes = {(await c.exec_driver_sql("PRAGMA cache_size")).scalar_one() for c in conns}
    finally:
        for c in conns:
            await c.close()
    # The default of 2 MB: a worker keeps no 32 MB cache per connection after an import.
    assert sizes == {-2000}
