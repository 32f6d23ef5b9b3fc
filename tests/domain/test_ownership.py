"""Who a new customer belongs to, who may change it, and what the owner field offers."""

import pytest

from domain.enums import Role
from domain.ownership import (
    MSG_OWNER,
    MSG_TEAM,
    Candidate,
    counter_placement,
    may_create,
    owner_field,
    place_new_customer,
    reassignment,
)
from domain.users import Actor

TEAM, OTHER = 1, 2
REP = Actor(id=10, name="陈静", role=Role.REP, team_id=TEAM)
MANAGER = Actor(id=11, name="李伟", role=Role.MANAGER, team_id=TEAM)
ADMIN = Actor(id=12, name="王芳", role=Role.ADMIN, team_id=None)
CLERK = Actor(id=13, name="吴婷", role=Role.CLERK, team_id=TEAM, team_is_store=True)
COLLEAGUE = Candidate(id=20, role=Role.REP, team_id=TEAM)
STRANGER = Candidate(id=21, role=Role.REP, team_id=OTHER)


def test_a_rep_owns_what_they_create_whatever_the_form_says():
    placed = place_new_customer(REP, team_id=OTHER, owner_id=COLLEAGUE.id, owner=COLLEAGUE)
    assert (placed.team_id, placed.owner_id, placed.errors) == (TEAM, REP.id, {})


def test_a_manager_gives_a_new_customer_to_the_pool_or_a_team_member():
    pool = place_new_customer(MANAGER, team_id=None, owner_id=None, owner=None)
    assert (pool.team_id, pool.owner_id, pool.errors) == (TEAM, None, {})
    member = place_new_customer(MANAGER, team_id=None, owner_id=COLLEAGUE.id, owner=COLLEAGUE)
    assert (member.owner_id, member.errors) == (COLLEAGUE.id, {})
    stranger = place_new_customer(MANAGER, team_id=None, owner_id=STRANGER.id, owner=STRANGER)
    assert stranger.errors == {"owner_id": MSG_OWNER}


def test_an_owner_who_cannot_own_customers_is_refused():
    # The form asked for a user who is not among those who may own customers.
    placed = place_new_customer(MANAGER, team_id=None, owner_id=99, owner=None)
    assert (placed.owner_id, placed.errors) == (None, {"owner_id": MSG_OWNER})


def test_an_admin_chooses_an_existing_team_and_an_owner_of_that_team():
    missing = place_new_customer(ADMIN, team_id=None, owner_id=None, owner=None, team_ids={TEAM})
    assert (missing.team_id, missing.errors) == (None, {"team_id": MSG_TEAM})
    unknown = place_new_customer(ADMIN, team_id=7, owner_id=None, owner=None, team_ids={TEAM})
    assert unknown.errors == {"team_id": MSG_TEAM}
    ok = place_new_customer(
        ADMIN, team_id=TEAM, owner_id=COLLEAGUE.id, owner=COLLEAGUE, team_ids={TEAM, OTHER}
    )
    assert (ok.team_id, ok.owner_id, ok.errors) == (TEAM, COLLEAGUE.id, {})
    mismatch = place_new_customer(
        ADMIN, team_id=TEAM, owner_id=STRANGER.id, owner=STRANGER, team_ids={TEAM, OTHER}
    )
    assert mismatch.errors == {"owner_id": MSG_OWNER}


def test_a_clerk_gives_a_new_customer_to_the_store_or_to_themselves_only():
    store = place_new_customer(CLERK, team_id=OTHER, owner_id=None, owner=None)
    assert (store.team_id, store.owner_id, store.errors) == (TEAM, None, {})
    me = Candidate(id=CLERK.id, role=Role.CLERK, team_id=TEAM)
    mine = place_new_customer(CLERK, team_id=None, owner_id=CLERK.id, owner=me)
    assert (mine.owner_id, mine.errors) == (CLERK.id, {})
    other = place_new_customer(CLERK, team_id=None, owner_id=COLLEAGUE.id, owner=COLLEAGUE)
    assert other.errors == {"owner_id": MSG_OWNER}


def test_only_admins_create_customers_without_a_team():
    assert may_create(ADMIN) and may_create(REP)
    assert not may_create(Actor(id=30, name="新人", role=Role.REP, team_id=None))


@pytest.mark.parametrize(
    ("actor", "new", "shown", "self_only", "all_teams"),
    [
        (REP, True, False, False, False),
        (REP, False, False, False, False),
        (MANAGER, True, True, False, False),
        (MANAGER, False, True, False, False),
        (ADMIN, True, True, False, True),
        (ADMIN, False, True, False, False),
        (CLERK, True, True, True, False),
        (CLERK, False, False, True, False),
    ],
)
def test_the_owner_field_by_role(actor, new, shown, self_only, all_teams):
    offer = owner_field(actor, new=new)
    assert (offer.shown, offer.self_only, offer.all_teams) == (shown, self_only, all_teams)


def test_reps_and_clerks_cannot_reassign_an_existing_customer():
    for actor in (REP, CLERK):
        owner_id, error = reassignment(
            actor, team_id=TEAM, current_owner_id=5, owner_id=COLLEAGUE.id, owner=COLLEAGUE
        )
        assert (owner_id, error) == (5, None)


def test_a_manager_reassigns_within_the_customers_team_or_to_the_pool():
    def change(owner_id, owner):
        return reassignment(
            MANAGER, team_id=TEAM, current_owner_id=5, owner_id=owner_id, owner=owner
        )

    assert change(COLLEAGUE.id, COLLEAGUE) == (COLLEAGUE.id, None)
    assert change(None, None) == (None, None)
    assert change(STRANGER.id, STRANGER) == (STRANGER.id, MSG_OWNER)
    assert change(99, None) == (99, MSG_OWNER)


def test_keeping_the_owner_is_never_an_error_even_if_they_no_longer_qualify():
    # The current owner left the team: saving other changes must still work.
    assert reassignment(
        MANAGER, team_id=TEAM, current_owner_id=STRANGER.id, owner_id=STRANGER.id, owner=None
    ) == (STRANGER.id, None)


def test_a_manager_of_another_team_cannot_reassign_its_customers():
    assert reassignment(
        MANAGER, team_id=OTHER, current_owner_id=None, owner_id=STRANGER.id, owner=STRANGER
    ) == (STRANGER.id, MSG_OWNER)


def test_at_the_counter_a_clerk_owns_walk_ins_and_a_store_manager_gives_them_to_the_store():
    assert counter_placement(CLERK) == (TEAM, CLERK.id)
    store_manager = Actor(id=14, name="周敏", role=Role.MANAGER, team_id=TEAM, team_is_store=True)
    assert counter_placement(store_manager) == (TEAM, None)
    assert counter_placement(MANAGER) is None  # a sales team is no store
    assert counter_placement(ADMIN) is None
