"""The pipeline board on the web: counts and amounts per stage, filters, one stage, who sees it."""

from sqlalchemy import select

from db.models import Customer
from domain.sales import MESSAGES
from tests import factories as make
from tests.support import html, sign_in, texts
from web.core.i18n import load_catalogue


async def board_world(db):
    team = await make.team(db)
    rep = await make.user(db, name="陈静", role="rep", team=team, locale="en")
    rep2 = await make.user(db, name="刘洋", role="rep", team=team, locale="en")
    boss = await make.user(db, name="王经理", role="manager", team=team, locale="en")
    rows = [
        ("甲公司", rep, "proposal", 1_000_000, "A", "referral"),
        ("乙公司", rep2, "proposal", 2_000_000, "B", "website"),
        ("丙公司", rep, "lead", None, "C", "referral"),
    ]
    for i, (name, owner, stage, cents, level, source) in enumerate(rows):
        c = await make.customer(
            db,
            via_form=True,
            name=name,
            phone=f"1380013800{i}",
            team=team,
            owner=owner,
            level=level,
            source=source,
        )
        row = (await db.execute(select(Customer).where(Customer.id == c.id))).scalar_one()
        row.stage, row.expected_amount_cents = stage, cents
    await db.commit()
    return rep, rep2, boss


def column(tree, stage: str):
    return tree.css_first(f".pipeline-column.stage-{stage}")


async def test_manager_sees_counts_and_amounts_per_stage(client, db):
    _rep, _rep2, boss = await board_world(db)
    await sign_in(client, db, boss)
    response = await client.get("/pipeline")
    assert response.status_code == 200
    tree = html(response)
    proposal = column(tree, "proposal")
    assert proposal.css_first(".column-count").text(strip=True) == "2"
    assert "30,000" in proposal.css_first(".column-amount").text()
    assert set(texts(proposal, ".card-name")) == {"甲公司", "乙公司"}
    assert texts(tree, ".card-days")[0].startswith("0 days in stage")
    assert "Pipeline" in texts(tree, "nav.tabs a")


async def test_filters_narrow_the_board_and_htmx_gets_the_fragment(client, db):
    rep, _rep2, boss = await board_world(db)
    await sign_in(client, db, boss)
    tree = html(await client.get(f"/pipeline?owner={rep.id}&level=A&source=referral"))
    assert column(tree, "proposal").css_first(".column-count").text(strip=True) == "1"
    assert column(tree, "lead").css_first(".column-count").text(strip=True) == "0"
    assert tree.css_first("#pf-level option[selected]").attributes["value"] == "A"
    response = await client.get("/pipeline?level=B", headers={"HX-Request": "true"})
    fragment = html(response)
    assert fragment.css_first("#sales-board") is not None and fragment.css_first("nav") is None
    assert "HX-Request" in response.headers["vary"]
    # Odd filter values mean "all", never an error.
    assert (await client.get("/pipeline?owner=x&level=Z&source=web")).status_code == 200
    # A NUL byte is refused for every route with a clear 400 (web/core/input_check.py).
    assert (await client.get("/pipeline?source=%00")).status_code == 400


async def test_one_stage_lists_its_customers(client, db):
    _rep, _rep2, boss = await board_world(db)
    await sign_in(client, db, boss)
    tree = html(await client.get("/pipeline/proposal"))
    assert texts(tree, "h1") == ["Proposal"]
    assert len(tree.css(".pipeline-card")) == 2
    assert (await client.get("/pipeline/nonsense")).status_code == 404


async def test_a_rep_sees_only_their_own_deals(client, db):
    rep, _rep2, _boss = await board_world(db)
    await sign_in(client, db, rep)
    tree = html(await client.get("/pipeline"))
    assert set(texts(tree, ".card-name")) == {"甲公司", "丙公司"}
    assert tree.css_first("#pf-owner") is None


async def test_clerks_and_signed_out_users_do_not_get_the_board(client, db):
    store = await make.team(db, "南京路门店", store=True)
    clerk = await make.user(db, name="店员", role="clerk", team=store)
    response = await client.get("/pipeline", follow_redirects=False)
    assert response.status_code in (302, 303) and "/login" in response.headers["location"]
    await sign_in(client, db, clerk)
    assert (await client.get("/pipeline")).status_code == 403
    assert "Pipeline" not in texts(html(await client.get("/customers")), "nav.tabs a")


def test_every_sales_rule_message_is_translated():
    catalogue = load_catalogue("zh_CN")
    assert [m for m in MESSAGES if m not in catalogue] == []
