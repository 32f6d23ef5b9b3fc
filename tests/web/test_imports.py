"""Import on the web, without JavaScript: upload → mapping → preview, refusals, visibility."""

import io

from openpyxl import load_workbook
from sqlalchemy import func, select

from db.models import Customer, ImportJob, ImportRow
from tests import factories as make
from tests.imports_support import csv_bytes, xlsx_bytes
from tests.support import csrf_token, html, texts

GBK_ROWS = [
    ["客户名称", "手机", "级别", "负责人", "备注"],
    ["杭州新客户", "13912345678", "A", "陈静", "老客户介绍"],
    ["已有客户", "13800138000", "B", "", ""],  # duplicate of an existing customer (phone)
    ["坏号码公司", "1.39123E+10", "B", "", ""],  # damaged phone
    ["杭州新客户", "13912345679", "C", "", ""],  # duplicate of line 2 (name)
    ["重名负责人", "13912345670", "C", "王伟", ""],  # two users are called 王伟
]


async def _manager(db, signed_in):
    """A manager (English) of the shared team, with a rep, two 王伟 and an existing customer."""
    team = await make.team(db)
    await make.user(db, role="rep", team=team, name="陈静")
    await make.user(db, role="rep", team=team, name="王伟")
    await make.user(db, role="rep", team=team, name="王伟")
    await make.customer(db, team=team, name="华东机械", phone="13800138000")
    boss = await signed_in("manager", team=team, name="王经理", locale="en")
    return team, boss


async def _upload(client, name: str, data: bytes, **fields):
    token = await csrf_token(client, "/imports/new")
    return await client.post(
        "/imports/",
        data={"_csrf_token": token, **fields},
        files={"file": (name, data, "application/octet-stream")},
        follow_redirects=False,
    )


async def _map(client, job_url: str, **fields):
    """Submit the mapping form as the page shows it, with `fields` changed."""
    page = html(await client.get(job_url))
    form = page.css_first("#import-mapping")
    data = {}
    for node in form.css("select"):
        chosen = node.css_first("option[selected]")
        data[node.attributes["name"]] = chosen.attributes["value"] if chosen else ""
    checked = form.css_first("input[name=duplicate_mode][checked]")
    data["duplicate_mode"] = checked.attributes["value"]
    data["_csrf_token"] = form.css_first("input[name=_csrf_token]").attributes["value"]
    data.update(fields)
    return await client.post(form.attributes["action"], data=data, follow_redirects=False)


async def test_a_gbk_csv_is_mapped_and_previewed_without_javascript(client, db, signed_in):
    await _manager(db, signed_in)
    uploaded = await _upload(client, "客户.csv", csv_bytes(GBK_ROWS, encoding="gbk"))
    assert uploaded.status_code == 303
    job_url = uploaded.headers["location"]
    page = html(await client.get(job_url))
    guessed = {
        s.attributes["name"]: s.css_first("option[selected]").attributes["value"]
        for s in page.css("#import-mapping select")
    }
    assert guessed == {"col_0": "name", "col_1": "phone", "col_2": "level", "col_3": "owner",
                       "col_4": "needs"}  # fmt: skip
    mapped = await _map(client, job_url)
    assert mapped.status_code == 303
    preview = html(await client.get(mapped.headers["location"]))
    totals = {
        a.attributes["data-verdict"]: a.css_first(".count").text()
        for a in preview.css("#import-totals a[data-verdict]")
    }
    assert totals == {"new": "1", "duplicate": "1", "duplicate_in_file": "1", "error": "2"}
    verdicts = {r.attributes["data-line"]: r.attributes["data-verdict"]
                for r in preview.css("#import-preview tbody tr")}  # fmt: skip
    assert verdicts == {"2": "new", "3": "duplicate", "4": "error", "5": "duplicate_in_file",
                        "6": "error"}  # fmt: skip
    reasons = texts(preview, "#import-preview tr[data-line='4'] td")[-1]
    assert "lost digits" in reasons
    assert "Several users" in texts(preview, "#import-preview tr[data-line='6'] td")[-1]


async def test_the_preview_filters_by_verdict(client, db, signed_in):
    await _manager(db, signed_in)
    uploaded = await _upload(client, "客户.csv", csv_bytes(GBK_ROWS, encoding="gbk"))
    mapped = await _map(client, uploaded.headers["location"])
    errors = html(await client.get(mapped.headers["location"] + "?verdict=error"))
    assert [r.attributes["data-line"] for r in errors.css("#import-preview tbody tr")] == ["4", "6"]


async def test_a_corrected_column_changes_the_verdicts(client, db, signed_in):
    await _manager(db, signed_in)
    uploaded = await _upload(client, "客户.csv", csv_bytes(GBK_ROWS, encoding="utf-8-sig"))
    mapped = await _map(client, uploaded.headers["location"], col_3="")  # owner not imported
    preview = html(await client.get(mapped.headers["location"] + "?verdict=error"))
    assert [r.attributes["data-line"] for r in preview.css("#import-preview tbody tr")] == ["4"]


async def test_a_saved_mapping_is_offered_for_the_same_headers(client, db, signed_in):
    await _manager(db, signed_in)
    rows = [["单位", "号码"], ["甲公司", "13900000001"]]
    first = await _upload(client, "a.csv", csv_bytes([["客户名称", "号码"], *rows[1:]]))
    await _map(client, first.headers["location"], col_1="phone", save_mapping="1")
    again = await _upload(client, "b.csv", csv_bytes([["客户名称", "号码"], ["乙公司", "1"]]))
    page = html(await client.get(again.headers["location"]))
    assert page.css_first("select[name=col_1] option[selected]").attributes["value"] == "phone"


async def test_mapping_without_a_name_column_is_refused_beside_the_table(client, db, signed_in):
    await _manager(db, signed_in)
    uploaded = await _upload(client, "客户.csv", csv_bytes(GBK_ROWS))
    response = await _map(client, uploaded.headers["location"], col_0="")
    assert response.status_code == 422
    assert texts(html(response), "#import-mapping-error") == [
        "No column is mapped to the customer name."
    ]


async def test_an_xlsx_sheet_can_be_chosen(client, db, signed_in):
    await _manager(db, signed_in)
    data = xlsx_bytes({"说明": [["请在第二页填写"]], "客户": GBK_ROWS[:2]})
    uploaded = await _upload(client, "客户.xlsx", data)
    assert uploaded.status_code == 422  # the first sheet has no header row
    data = xlsx_bytes({"客户": GBK_ROWS[:2], "旧": [["名称", "电话"], ["旧客户", "13700000000"]]})
    uploaded = await _upload(client, "客户.xlsx", data)
    job_url = uploaded.headers["location"]
    switched = await _map(client, job_url, sheet="旧")
    assert switched.headers["location"] == job_url
    page = html(await client.get(job_url))
    assert [th.text(strip=True) for th in page.css("#import-mapping tbody th")] == ["名称", "电话"]


async def test_files_that_are_not_spreadsheets_get_one_sentence_and_nothing_is_written(
    client, db, signed_in
):
    await _manager(db, signed_in)
    response = await _upload(client, "photo.xlsx", b"PK\x03\x04garbage")
    assert response.status_code == 422
    assert texts(html(response), "#import-file-error") == [
        "This file is not a spreadsheet: upload an XLSX, XLS, ODS or CSV file."
    ]
    empty = await _upload(client, "empty.csv", b"")
    assert texts(html(empty), "#import-file-error") == ["This file has no rows."]
    assert (await db.execute(select(func.count()).select_from(ImportJob))).scalar_one() == 0
    assert (await db.execute(select(func.count()).select_from(ImportRow))).scalar_one() == 0


async def test_reps_may_not_import_and_nobody_sees_anothers_import(client, db, signed_in):
    team, _boss = await _manager(db, signed_in)
    uploaded = await _upload(client, "客户.csv", csv_bytes(GBK_ROWS))
    job_url = uploaded.headers["location"]
    await signed_in("manager", team=team, name="李经理", locale="en")
    assert (await client.get(job_url)).status_code == 404
    await signed_in("rep", team=team, name="赵强", locale="en")
    assert (await client.get("/imports/new")).status_code == 403
    assert (await _upload(client, "客户.csv", csv_bytes(GBK_ROWS))).status_code == 403


async def _run_to_end(client, preview_url: str):
    """Press Run on the preview and follow the progress page until the job has finished."""
    import asyncio

    page = html(await client.get(preview_url))
    form = page.css_first("#import-run")
    token = form.css_first("input[name=_csrf_token]").attributes["value"]
    started = await client.post(
        form.attributes["action"], data={"_csrf_token": token}, follow_redirects=False
    )
    assert started.status_code == 303
    progress_url = started.headers["location"]
    for _ in range(200):
        tree = html(await client.get(progress_url))
        if tree.css_first("#import-progress").attributes["data-state"] != "running":
            return progress_url, tree
        await asyncio.sleep(0.05)
    raise AssertionError("the import did not finish")


async def _imported(client, db, signed_in, rows=GBK_ROWS, **mapping):
    team, boss = await _manager(db, signed_in)
    uploaded = await _upload(client, "客户.csv", csv_bytes(rows, encoding="gbk"))
    mapped = await _map(client, uploaded.headers["location"], **mapping)
    progress_url, tree = await _run_to_end(client, mapped.headers["location"])
    return team, boss, progress_url, tree


async def test_running_an_import_creates_the_new_customers_and_sums_up(client, db, signed_in):
    _team, _boss, _url, tree = await _imported(client, db, signed_in)
    assert tree.css_first("#import-progress").attributes["data-state"] == "done"
    counts = {d.attributes["data-count"]: d.text() for d in tree.css("#import-summary dd")}
    assert counts == {"created": "1", "updated": "0", "skipped": "2", "failed": "2"}
    found = (await db.execute(select(Customer).where(Customer.name == "杭州新客户"))).scalars()
    [customer] = list(found)
    assert customer.phone == "13912345678"
    assert customer.needs == "老客户介绍"


async def test_an_imported_customer_says_where_it_came_from_in_its_history(client, db, signed_in):
    await _imported(client, db, signed_in)
    customer = (
        await db.execute(select(Customer).where(Customer.name == "杭州新客户"))
    ).scalar_one()
    tree = html(await client.get(f"/customers/{customer.id}"))
    assert "Imported from 客户.csv" in tree.css_first("#sales-history").text()


async def test_the_report_lists_the_rows_not_imported_with_the_reason_first(client, db, signed_in):
    _team, _boss, _url, tree = await _imported(client, db, signed_in)
    response = await client.get(tree.css_first("#import-report").attributes["href"])
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    rows = [tuple(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    assert rows[0][:3] == ("Reason", "Line", "客户名称")
    assert [r[1] for r in rows[1:]] == [3, 4, 5, 6]
    assert "lost digits" in rows[2][0]


async def test_fill_empty_updates_the_existing_customer_and_undo_restores_it(client, db, signed_in):
    rows = [["客户名称", "手机", "行业"], ["华东机械", "13800138000", "机械"]]
    _team, _boss, _url, tree = await _imported(
        client, db, signed_in, rows=rows, duplicate_mode="fill_empty"
    )
    assert tree.css_first("dd[data-count=updated]").text() == "1"
    existing = (
        await db.execute(select(Customer).where(Customer.phone == "13800138000"))
    ).scalar_one()
    await db.refresh(existing)
    assert existing.industry == "机械"
    token = tree.css_first("form input[name=_csrf_token]").attributes["value"]
    undone = await client.post(
        tree.css_first("#import-undo").parent.attributes["action"],
        data={"_csrf_token": token},
        follow_redirects=False,
    )
    assert undone.status_code == 303
    await db.refresh(existing)
    assert existing.industry == ""


async def test_undo_removes_the_created_customers(client, db, signed_in):
    _team, _boss, url, tree = await _imported(client, db, signed_in)
    token = tree.css_first("form input[name=_csrf_token]").attributes["value"]
    await client.post(url.replace("/progress", "/undo"), data={"_csrf_token": token})
    names = set((await db.execute(select(Customer.name))).scalars())
    assert "杭州新客户" not in names
    assert "华东机械" in names
    page = html(await client.get(url))
    assert page.css_first("#import-progress").attributes["data-state"] == "undone"


async def test_undo_is_refused_when_a_created_customer_has_visits(client, db, signed_in):
    _team, boss, url, tree = await _imported(client, db, signed_in)
    customer = (
        await db.execute(select(Customer).where(Customer.name == "杭州新客户"))
    ).scalar_one()
    await make.visit(db, customer=customer, user=boss)
    page = html(await client.get(url))
    assert page.css_first("#import-undo") is None
    assert "杭州新客户" in page.css_first("#import-progress").text()
    token = tree.css_first("form input[name=_csrf_token]").attributes["value"]
    await client.post(url.replace("/progress", "/undo"), data={"_csrf_token": token})
    assert (await db.execute(select(Customer.id).where(Customer.id == customer.id))).scalar_one()


async def test_undo_is_refused_after_7_days(client, db, signed_in):
    from datetime import timedelta

    _team, _boss, url, _tree = await _imported(client, db, signed_in)
    job = (await db.execute(select(ImportJob))).scalar_one()
    job.finished_at = job.finished_at - timedelta(days=8)
    await db.commit()
    page = html(await client.get(url))
    assert page.css_first("#import-undo") is None
    assert "7 days only" in page.css_first("#import-progress").text()


async def test_a_restart_marks_a_running_import_stopped_where_it_was(db, signed_in, client):
    from web.imports import jobs

    _team, _boss = await _manager(db, signed_in)
    uploaded = await _upload(client, "客户.csv", csv_bytes(GBK_ROWS, encoding="gbk"))
    mapped = await _map(client, uploaded.headers["location"])
    job = (await db.execute(select(ImportJob))).scalar_one()
    job.state = "running"  # as if the server died while it ran
    await db.commit()
    await jobs.recover(client.app.state.sessionmaker)
    await db.refresh(job)
    assert (job.state, job.stopped_at_line) == ("stopped", 2)
    assert mapped.status_code == 303


async def test_a_file_over_the_app_wide_2_mb_body_limit_can_be_uploaded(client, db, signed_in):
    await _manager(db, signed_in)
    rows = [["客户名称", "手机", "备注"]] + [
        [f"大文件客户{n}", f"139{n:08d}", "备" * 300] for n in range(4000)
    ]
    data = csv_bytes(rows)
    assert len(data) > 3 * 1024 * 1024
    response = await _upload(client, "大文件.csv", data)
    assert response.status_code == 303
    job = (await db.execute(select(ImportJob))).scalar_one()
    assert job.total == 4000


async def test_new_customers_across_batches_get_consecutive_numbers_history_and_audit(
    client, db, signed_in, monkeypatch
):
    import db.imports as imports_db
    from db.models import AuditEvent, StageChange
    from domain.customers import derived_fields

    monkeypatch.setattr(imports_db, "RUN_BATCH", 3)  # 7 new rows: three batches
    rows = [["客户名称", "手机", "级别"]]
    rows += [[f"上海华东{i}号公司", f"1391234560{i}", "A"] for i in range(7)]
    await _imported(client, db, signed_in, rows=rows)
    found = (await db.execute(select(Customer).order_by(Customer.id))).scalars().all()
    created = [c for c in found if c.name.startswith("上海华东")]
    assert [c.name for c in created] == [f"上海华东{i}号公司" for i in range(7)]
    seqs = [int(c.number[7:]) for c in created]
    assert seqs == list(range(seqs[0], seqs[0] + 7))
    for c in created:
        derived = derived_fields(c.name, c.phone)
        assert {k: getattr(c, k) for k in derived} == derived
        assert c.next_follow_up_on is not None
    ids = [c.id for c in created]
    history = (
        (await db.execute(select(StageChange).where(StageChange.customer_id.in_(ids))))
        .scalars()
        .all()
    )
    assert sorted(h.customer_id for h in history) == ids
    assert all(h.comment.startswith("Imported from 客户.csv") for h in history)
    events = (
        (await db.execute(select(AuditEvent).where(AuditEvent.action == "customer_created")))
        .scalars()
        .all()
    )
    assert {e.entity_id: e.detail["number"] for e in events if e.entity_id in ids} == {
        c.id: c.number for c in created
    }
