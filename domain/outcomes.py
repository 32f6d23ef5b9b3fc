"""The default visit outcomes (admins may edit the stored list)."""

from dataclasses import dataclass

from domain.enums import Method


@dataclass(frozen=True)
class OutcomeDef:
    """One preset a visit is logged with."""

    code: str
    label_en: str
    label_zh: str
    method: Method
    asks_amount: bool = False


DEFAULT_OUTCOMES: tuple[OutcomeDef, ...] = (
    OutcomeDef("met_interested", "Met: interested", "已面谈-有意向", Method.FIELD),
    OutcomeDef("met_not_now", "Met: not now", "已面谈-暂无需求", Method.FIELD),
    OutcomeDef("not_met", "Not met", "未见到人", Method.FIELD),
    OutcomeDef("called", "Phone call", "电话沟通", Method.PHONE),
    OutcomeDef("store_visit", "Came to store", "到店", Method.STORE),
    OutcomeDef("store_purchase", "Purchased in store", "到店购买", Method.STORE, asks_amount=True),
    OutcomeDef("message", "Message / WeChat", "微信/短信", Method.MESSAGE),
)
