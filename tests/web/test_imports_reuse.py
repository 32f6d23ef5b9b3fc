"""The import reuses the preview's checks, but still sees what changed since the preview."""

from sqlalchemy import select

from db.models import Customer, ImportRow, User
from tests import factories as make
from tests.imports_support import csv_bytes
from tests.web.test_imports import _manager, _map, _run_to_end, _upload

ROWS = [
    ["客户名称", "手机", "级别", "负责人"],
    ["杭州新客户", "13912345678", "A", "陈静"],
    ["宁波新客户", "13912345679", "B", ""],
]


async def _previewed(client, db, signed_in, rows=ROWS):
    """Upload and map the rows (the preview has checked them); the preview's address."""
    team, _boss = await _manager(db, signed_in)
    uploaded = await _upload(client, "客户.csv", csv_bytes(rows, encoding="gbk"))
    mapped = await _map(client, uploaded.headers["location"])
    return team, mapped.headers["location"]


def _counts(tree) -> dict[str, str]:
    return {d.attributes["data-count"]: d.text() for d in tree.css("#import-summary dd")}


async def test_nothing_changed_since_the_preview_so_rows_are_not_checked_again(
    client, db, signed_in, monkeypatch
):
    import db.imports as imports_db

    _team, preview = await _previewed(client, db, signed_in)

    def check_again(*_args, **_kwargs):
        raise AssertionError("a row was checked again")

    monkeypatch.setattr(imports_db, "check_row", check_again)
    _url, tree = await _run_to_end(client, preview)
    assert _counts(tree) == {"created": "2", "updated": "0", "skipped": "0", "failed": "0"}
    owner = (await db.execute(select(User).where(User.name == "陈静"))).scalar_one()
    created = (await db.execute(select(Customer).where(Customer.name == "杭州新客户"))).scalar_one()
    assert (created.owner_id, created.level) == (owner.id, "A")
    # The stored checks are dropped once the rows are imported.
    assert list((await db.execute(select(ImportRow.checked))).scalars()) == [{}, {}]


async def test_a_customer_added_after_the_preview_is_still_a_duplicate(client, db, signed_in):
    team, preview = await _previewed(client, db, signed_in)
    # Someone enters one of the file's customers by hand between the preview and the run.
    await make.customer(db, team=team, name="别的名字", phone="13912345679")
    _url, tree = await _run_to_end(client, preview)
    assert _counts(tree) == {"created": "1", "updated": "0", "skipped": "1", "failed": "0"}
    names = set((await db.execute(select(Customer.name))).scalars())
    assert "宁波新客户" not in names


async def test_an_owner_renamed_after_the_preview_fails_the_row(client, db, signed_in):
    _team, preview = await _previewed(client, db, signed_in)
    owner = (await db.execute(select(User).where(User.name == "陈静"))).scalar_one()
    owner.name = "陈静怡"
    await db.commit()
    _url, tree = await _run_to_end(client, preview)
    assert _counts(tree) == {"created": "1", "updated": "0", "skipped": "0", "failed": "1"}
    names = set((await db.execute(select(Customer.name))).scalars())
    assert "杭州新客户" not in names


async def test_a_row_whose_stored_check_is_gone_is_checked_from_its_cells(client, db, signed_in):
    _team, preview = await _previewed(client, db, signed_in)
    row = (await db.execute(select(ImportRow).where(ImportRow.line == 3))).scalar_one()
    row.checked = {}  # as an erasure leaves it
    await db.commit()
    _url, tree = await _run_to_end(client, preview)
    assert _counts(tree) == {"created": "2", "updated": "0", "skipped": "0", "failed": "0"}
