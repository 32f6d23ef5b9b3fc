"""Sales process rules as plain function calls: moves, criteria, status, approvals, the board."""

from datetime import date

from domain.enums import LossReason, Role, Stage, Status
from domain.sales import (
    DEFAULT_CRITERIA,
    MSG_AFTER_SALES_NEEDS_WON,
    MSG_CHOOSE_STAGE,
    MSG_COMMENT_LONG,
    MSG_DECIDED,
    MSG_LOST_NO_MOVE,
    MSG_NOT_REQUESTER,
    MSG_REASON,
    MSG_REASON_TEXT,
    MSG_REQUIRED,
    MSG_SAME_STAGE,
    MSG_USE_WON,
    MSG_WON_STAYS,
    ApprovalKind,
    ApprovalState,
    criteria_missing,
    days_in_stage,
    decide_problem,
    is_stuck,
    may_change_sales,
    may_decide,
    parse_criteria_fields,
    parse_stuck_days,
    pool_release_needs_approval,
    stage_move_errors,
    stage_move_problem,
    stage_neighbours,
    stage_targets,
    status_change,
    withdraw_problem,
)


def move(current, target, status=Status.POTENTIAL):
    return stage_move_problem(current=current, status=status, target=target)


def test_open_deals_move_forward_and_back_freely():
    assert move(Stage.LEAD, Stage.FIRST_CONTACT) is None
    assert move(Stage.NEGOTIATION, Stage.LEAD) is None
    assert move(Stage.LEAD, Stage.NEGOTIATION, Status.INTENT) is None


def test_refused_moves():
    assert move(Stage.LEAD, Stage.LEAD) == MSG_SAME_STAGE
    assert move(Stage.NEGOTIATION, Stage.WON) == MSG_USE_WON
    assert move(Stage.NEGOTIATION, Stage.AFTER_SALES, Status.INTENT) == MSG_AFTER_SALES_NEEDS_WON
    assert move(Stage.PROPOSAL, Stage.NEGOTIATION, Status.LOST) == MSG_LOST_NO_MOVE
    assert move(Stage.WON, Stage.NEGOTIATION, Status.WON) == MSG_WON_STAYS
    assert move(Stage.WON, Stage.AFTER_SALES, Status.WON) is None


def test_stage_move_form_errors_name_the_field_at_fault():
    def errors(target, comment=""):
        return stage_move_errors(
            current=Stage.LEAD, status=Status.POTENTIAL, target=target, comment=comment
        )

    assert errors(Stage.FIRST_CONTACT, "x" * 500) == {}
    assert errors(None) == {"to": MSG_CHOOSE_STAGE}
    assert errors(Stage.LEAD) == {"to": MSG_SAME_STAGE}
    assert errors(Stage.WON, "x" * 501) == {"to": MSG_USE_WON, "comment": MSG_COMMENT_LONG}


def test_targets_and_neighbours_follow_the_rules():
    assert stage_neighbours(current=Stage.LEAD, status=Status.POTENTIAL) == (
        None,
        Stage.FIRST_CONTACT,
    )
    assert stage_neighbours(current=Stage.NEGOTIATION, status=Status.INTENT) == (
        Stage.PROPOSAL,
        None,  # Won is reached by marking the customer won
    )
    assert stage_targets(current=Stage.WON, status=Status.WON) == [Stage.AFTER_SALES]
    assert stage_targets(current=Stage.PROPOSAL, status=Status.LOST) == []


def test_criteria_of_every_entered_stage_apply_and_back_needs_nothing():
    empty = {"needs": "", "expected_amount_cents": None}
    assert criteria_missing(
        DEFAULT_CRITERIA, current=Stage.LEAD, target=Stage.PROPOSAL, values=empty
    ) == ["needs", "expected_amount_cents"]
    assert (
        criteria_missing(
            DEFAULT_CRITERIA,
            current=Stage.NEEDS_CONFIRMED,
            target=Stage.PROPOSAL,
            values={"needs": "x", "expected_amount_cents": 100},
        )
        == []
    )
    assert (
        criteria_missing(
            DEFAULT_CRITERIA, current=Stage.NEGOTIATION, target=Stage.LEAD, values=empty
        )
        == []
    )
    assert criteria_missing(
        DEFAULT_CRITERIA,
        current=Stage.LEAD,
        target=Stage.NEEDS_CONFIRMED,
        values={"needs": "   "},
    ) == ["needs"]


def test_the_inline_fields_are_parsed_and_still_required():
    values, errors = parse_criteria_fields(
        {"expected_amount": "1.2万", "needs": " 两台 "}, ["expected_amount_cents", "needs"]
    )
    assert values == {"expected_amount_cents": 1_200_000, "needs": "两台"} and errors == {}
    values, errors = parse_criteria_fields({"expected_amount": ""}, ["expected_amount_cents"])
    assert values == {} and errors == {"expected_amount": MSG_REQUIRED}
    _values, errors = parse_criteria_fields({"expected_amount": "abc"}, ["expected_amount_cents"])
    assert "expected_amount" in errors and errors["expected_amount"] != MSG_REQUIRED


def change(current_status, target, *, stage=Stage.PROPOSAL, **kw):
    return status_change(current_status=current_status, current_stage=stage, target=target, **kw)


def test_lost_needs_a_listed_reason_and_other_needs_words():
    assert change(Status.INTENT, "lost")[1] == {"reason": MSG_REASON}
    assert change(Status.INTENT, "lost", reason="bogus")[1] == {"reason": MSG_REASON}
    assert change(Status.INTENT, "lost", reason="other")[1] == {"comment": MSG_REASON_TEXT}
    done, errors = change(Status.INTENT, "lost", reason="other", comment="倒闭了")
    assert errors == {} and done.reason == LossReason.OTHER and done.comment == "倒闭了"
    assert done.approval is None and done.to_stage is None


def test_won_moves_the_stage_to_won_unless_already_after_sales():
    done, _ = change(Status.INTENT, "won")
    assert done.to_stage == Stage.WON
    done, _ = change(Status.LOST, "won", stage=Stage.AFTER_SALES)
    assert done.to_stage is None


def test_only_won_to_lost_needs_approval_and_only_when_enabled():
    done, _ = change(Status.WON, "lost", stage=Stage.WON, reason="price")
    assert done.approval == ApprovalKind.WON_TO_LOST
    done, _ = change(Status.WON, "lost", stage=Stage.WON, reason="price", approval_kinds=())
    assert done.approval is None
    done, _ = change(Status.WON, "intent", stage=Stage.WON)
    assert done.approval is None
    assert pool_release_needs_approval()
    assert not pool_release_needs_approval({ApprovalKind.WON_TO_LOST})


def test_same_or_unknown_status_is_refused():
    assert "to" in change(Status.INTENT, "intent")[1]
    assert "to" in change(Status.INTENT, "nope")[1]


def decide(role, actor_id=1, actor_team=10, requester=2, team=10):
    return may_decide(
        role=role,
        actor_id=actor_id,
        actor_team_id=actor_team,
        requester_id=requester,
        team_id=team,
    )


def test_who_may_decide():
    assert decide(Role.MANAGER)
    assert not decide(Role.REP)
    assert not decide(Role.CLERK)
    assert not decide(Role.MANAGER, actor_team=11)  # another team's manager
    assert not decide(Role.MANAGER, requester=1)  # one's own request
    assert decide(Role.ADMIN, actor_team=None)
    assert not decide(Role.ADMIN, requester=1)


def test_a_decided_request_cannot_be_decided_or_withdrawn():
    assert decide_problem(ApprovalState.PENDING) is None
    for state in (ApprovalState.APPROVED, ApprovalState.REJECTED, ApprovalState.WITHDRAWN):
        assert decide_problem(state) == MSG_DECIDED
        assert withdraw_problem(actor_id=1, requester_id=1, state=state) == MSG_DECIDED
    assert withdraw_problem(actor_id=1, requester_id=1, state="pending") is None
    assert withdraw_problem(actor_id=3, requester_id=1, state="pending") == MSG_NOT_REQUESTER


def test_clerks_do_not_work_deals():
    assert may_change_sales(Role.REP) and may_change_sales(Role.MANAGER)
    assert not may_change_sales(Role.CLERK)


def test_days_in_stage_and_stuck():
    assert days_in_stage(date(2026, 11, 1), date(2026, 11, 15)) == 14
    assert days_in_stage(date(2026, 11, 15), date(2026, 11, 15)) == 0
    assert is_stuck(15, 14) and not is_stuck(14, 14) and not is_stuck(999, None)


def test_stuck_days_setting():
    assert parse_stuck_days("") == (None, None)
    assert parse_stuck_days(" 21 ") == (21, None)
    for bad in ("0", "-3", "abc", "9999"):
        assert parse_stuck_days(bad)[0] is None and parse_stuck_days(bad)[1] is not None
