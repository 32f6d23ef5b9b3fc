"""Import on the web, without JavaScript: upload → mapping → preview, refusals, visibility."""

from sqlalchemy import func, select

from db.models import ImportJob, ImportRow
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
