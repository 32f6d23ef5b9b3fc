"""One meaning of won, coverage text, stage moves as lines, the week picker's weeks."""

from datetime import UTC, date, datetime, timedelta

from domain.enums import Stage, Status
from domain.report import (
    StageMove,
    coverage_text,
    is_won,
    move_changes,
    report_stage,
    week_options,
    win_events,
)

T0 = datetime(2026, 11, 16, 2, tzinfo=UTC)


def mv(cid: int, hours: int, **kw) -> StageMove:
    values = dict.fromkeys(("from_stage", "to_stage", "from_status", "to_status", "reason"))
    values.update(kw)
    return StageMove(cid, "c", "张伟", at=T0 + timedelta(hours=hours), **values)


def test_won_by_status_or_stage_but_never_when_lost():
    assert is_won(Stage.PROPOSAL, Status.WON)
    assert is_won(Stage.WON, Status.INTENT)
    assert is_won(Stage.AFTER_SALES, Status.WON)
    assert not is_won(Stage.WON, Status.LOST)
    assert not is_won(Stage.NEGOTIATION, Status.INTENT)
    assert report_stage(Stage.PROPOSAL, Status.WON) == Stage.WON
    assert report_stage(Stage.AFTER_SALES, Status.WON) == Stage.AFTER_SALES
    assert report_stage(Stage.PROPOSAL, Status.LOST) == Stage.PROPOSAL


def test_a_stage_move_and_a_status_change_are_one_win():
    split = [
        mv(1, 0, from_stage=Stage.NEGOTIATION, to_stage=Stage.WON),
        mv(1, 30, from_status=Status.INTENT, to_status=Status.WON),
        mv(1, 40, from_stage=Stage.WON, to_stage=Stage.AFTER_SALES),
    ]
    together = [
        mv(
            2,
            5,
            from_stage=Stage.NEGOTIATION,
            to_stage=Stage.WON,
            from_status=Status.INTENT,
            to_status=Status.WON,
        )
    ]
    wins = win_events([*split, *together])
    assert [(m.customer_id, m.at) for m in wins] == [(1, split[0].at), (2, together[0].at)]


def test_won_again_after_a_loss_counts_again():
    history = [
        mv(1, 0, from_status=Status.INTENT, to_status=Status.WON),
        mv(1, 10, from_status=Status.WON, to_status=Status.LOST),
        mv(1, 20, from_status=Status.LOST, to_status=Status.WON),
    ]
    assert len(win_events(history)) == 2


def test_move_changes_leave_out_what_did_not_change():
    first = mv(1, 0, to_stage=Stage.LEAD, to_status=Status.POTENTIAL)
    assert [(c.what, c.before, c.after) for c in move_changes(first)] == [
        ("stage", None, Stage.LEAD),
        ("status", None, Status.POTENTIAL),
    ]
    status_only = mv(1, 1, from_status=Status.INTENT, to_status=Status.LOST)
    assert [c.what for c in move_changes(status_only)] == ["status"]


def test_coverage_text_is_rounded_half_up():
    assert coverage_text(1, 3) == "33% (1/3)"
    assert coverage_text(1, 8) == "13% (1/8)"
    assert coverage_text(0, 0) == "—"


def test_week_options_hold_recent_weeks_and_the_shown_one():
    today = date(2026, 12, 1)
    weeks = [o.week for o in week_options(2026, 49, today)]
    assert weeks[0] == "2026-W49" and weeks[1] == "2026-W48" and len(weeks) == 12
    old = week_options(2025, 10, today)
    assert old[-1].week == "2025-W10" and len(old) == 13
    assert (old[0].first_day, old[0].last_day) == (date(2026, 11, 30), date(2026, 12, 6))
