"""A preview's stored row checks: they load back equal, and the digest sees what they used."""

import json

from domain.customers import CustomFieldDef
from domain.imports import Context, check_dump, check_load, check_row, context_digest
from domain.names import name_key

MAPPING = ["name", "phone", "level", "owner", "contact_name", "contact_phone", "contact_role",
           "email", "address", "tags", "custom_founded"]  # fmt: skip
FOUNDED = CustomFieldDef("founded", "Founded", "成立日期", "date")


def _ctx(**kw) -> Context:
    return Context(
        owners={name_key("陈静"): [7], name_key("王伟"): [8, 9]},
        source_names={"展会": "exhibition"},
        role_names={"采购": "purchaser"},
        custom_fields=[FOUNDED],
        **kw,
    )


ROWS = [
    ["杭州新客户", "139 1234 5678", "A", "陈静", "张三", "177 0000 0001", "采购", "a@b.cn",
     "上海市人民路1号", "老客户, 展会", "2020-05-01"],
    ["宁波客户", "13912345679", "", "", "", "", "", "", "", "", ""],
    ["杭州新客户", "13912345670", "b", "", "李四", "", "", "", "", "", ""],  # same name: in file
    ["坏公司", "1.39123E+10", "VIP", "王伟", "", "123", "", "", "", "", "no date"],
]  # fmt: skip


def test_every_kind_of_check_loads_back_equal_through_json():
    ctx = _ctx()
    checks = [check_row(n, cells, MAPPING, ctx) for n, cells in enumerate(ROWS, 2)]
    assert [c.verdict.value for c in checks] == ["new", "new", "duplicate_in_file", "error"]
    for check in checks:
        assert check_load(json.loads(json.dumps(check_dump(check)))) == check
    loaded = check_load(json.loads(json.dumps(check_dump(checks[0]))))
    assert loaded.customer.level.value == "A" and loaded.contact.role.value == "purchaser"


def test_the_digest_changes_with_whatever_a_check_depends_on():
    digest = context_digest(MAPPING, _ctx())
    assert context_digest(list(MAPPING), _ctx()) == digest
    assert context_digest(MAPPING[::-1], _ctx()) != digest
    renamed = _ctx()
    renamed.owners = {name_key("陈静怡"): [7], name_key("王伟"): [8, 9]}
    assert context_digest(MAPPING, renamed) != digest
    assert context_digest(MAPPING, Context(owners=_ctx().owners)) != digest
    required = _ctx()
    required.custom_fields = [CustomFieldDef("founded", "Founded", "成立日期", "date", True)]
    assert context_digest(MAPPING, required) != digest
