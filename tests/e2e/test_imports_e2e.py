"""Import in a real browser at 1280×800: GBK CSV → mapping fixed → preview → run → report → undo."""

import io
import re
import sqlite3
import uuid

import pytest
from openpyxl import load_workbook

from domain.customers import derived_fields
from tests.e2e.conftest import shot, signed_in_context
from tests.imports_support import csv_bytes

pytestmark = pytest.mark.e2e

TEAM = "华东销售一组"
ROWS = [
    ["客户名称", "联系方式", "级别", "行业"],  # "联系方式" is not guessed: the user maps it
    ["杭州新客户贸易有限公司", "13912345678", "A", "贸易"],
    ["已有机械", "13800138000", "B", ""],  # duplicate of the customer already in Kehu
    ["坏号码公司", "1.39123E+10", "B", ""],  # damaged phone
]


def _existing(server) -> None:
    """One customer of the team, the duplicate the file's third line repeats."""
    con = sqlite3.connect(server.workdir / "e2e.db")
    with con:
        team = con.execute("select id from team where name = ?", (TEAM,)).fetchone()[0]
        d = derived_fields("已有机械", "13800138000")
        con.execute(
            "insert into customer (number, name, name_key, name_pinyin, name_initials, kind,"
            " phone, phone_last4, team_id, level, source, contact_name, email, industry, needs,"
            " address, status, stage, custom, tags, created_at, updated_at, version)"
            " values (?, '已有机械', ?, ?, ?, 'company', '13800138000', ?, ?, 'B', 'other',"
            " '', '', '', '', '', 'potential', 'lead', '{}', '[]',"
            " datetime('now'), datetime('now'), 1)",
            (f"C{uuid.uuid4().int % 10**9:09d}", d["name_key"], d["name_pinyin"],
             d["name_initials"], d["phone_last4"], team),
        )  # fmt: skip
    con.close()


def test_import_a_gbk_csv_fix_a_column_run_report_find_and_undo(browser, server, tmp_path):
    ctx = signed_in_context(
        browser, server, name="王经理", role="manager", team=TEAM, size="counter"
    )
    _existing(server)
    page = ctx.new_page()
    page.goto(server.origin + "/customers")
    page.get_by_role("link", name="导入", exact=True).click()
    page.wait_for_url(re.compile(r"/imports/new$"))
    page.set_input_files(
        "#import-file",
        files=[{"name": "客户名单.csv", "mimeType": "text/csv",
                "buffer": csv_bytes(ROWS, encoding="gbk")}],
    )  # fmt: skip
    page.get_by_role("button", name="上传").click()
    page.wait_for_url(re.compile(r"/imports/\d+$"))
    assert page.locator("#col-1").input_value() == ""  # not guessed
    page.locator("#col-1").select_option("phone")
    shot(page, "import-mapping")
    page.get_by_role("button", name="预览").click()
    page.wait_for_url(re.compile(r"/preview$"))
    totals = page.locator("#import-totals")
    assert totals.locator("[data-verdict=new] .count").inner_text() == "1"
    assert totals.locator("[data-verdict=duplicate] .count").inner_text() == "1"
    assert totals.locator("[data-verdict=error] .count").inner_text() == "1"
    shot(page, "import-preview")
    page.get_by_role("button", name="运行导入").click()
    page.wait_for_url(re.compile(r"/progress$"))
    shot(page, "import-progress")
    page.get_by_role("heading", name="导入完成").wait_for(timeout=15000)
    shot(page, "import-done")

    with page.expect_download() as download:
        page.locator("#import-report").click()
    report = tmp_path / "report.xlsx"
    download.value.save_as(report)
    rows = list(load_workbook(io.BytesIO(report.read_bytes())).worksheets[0].values)
    assert [r[1] for r in rows[1:]] == [3, 4]
    assert "丢失" in rows[2][0]

    progress_url = page.url
    page.goto(server.origin + "/customers?q=hzxkh")
    assert page.get_by_text("杭州新客户贸易有限公司").first.is_visible()

    page.goto(progress_url)
    page.get_by_role("button", name="撤销此次导入").click()
    page.get_by_role("heading", name="导入已撤销").wait_for()
    page.goto(server.origin + "/customers?q=hzxkh")
    assert page.get_by_text("杭州新客户贸易有限公司").count() == 0
    ctx.close()
