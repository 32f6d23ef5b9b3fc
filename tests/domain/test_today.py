"""The Today work list rules: the overdue filter, its sort, and short sections."""

from domain.today import (
    OverdueFilter,
    late_matches,
    overdue_apply,
    overdue_filter_parse,
    section_rows,
)

ROWS = [("Bravo", "B", 3), ("alpha", "A", 40), ("Charlie", "C", 12), ("Delta", "A", 1)]


def apply(chosen: OverdueFilter) -> list[str]:
    return [
        r[0]
        for r in overdue_apply(
            ROWS, chosen, level_of=lambda r: r[1], days_of=lambda r: r[2], name_of=lambda r: r[0]
        )
    ]


def test_unknown_filter_input_means_no_filter():
    assert overdue_filter_parse("Z", "forever", "random") == OverdueFilter()
    assert not overdue_filter_parse().active
    assert overdue_filter_parse(" a ", "week", "name") == OverdueFilter("A", "week", "name")


def test_how_long_overdue_ranges_meet_without_gaps():
    assert [d for d in range(0, 40) if late_matches("week", d)] == list(range(1, 8))
    assert late_matches("month", 8) and late_matches("month", 30) and not late_matches("month", 31)
    assert late_matches("older", 31) and not late_matches("older", 30)
    assert late_matches("", 0)


def test_filter_by_level_and_lateness_keeps_the_given_order():
    assert apply(OverdueFilter(level="A")) == ["alpha", "Delta"]
    assert apply(OverdueFilter(late="month")) == ["Charlie"]
    assert apply(OverdueFilter()) == ["Bravo", "alpha", "Charlie", "Delta"]


def test_sort_by_level_then_most_overdue_or_by_name():
    assert apply(OverdueFilter(sort="level")) == ["alpha", "Delta", "Bravo", "Charlie"]
    assert apply(OverdueFilter(sort="name")) == ["alpha", "Bravo", "Charlie", "Delta"]


def test_a_section_shows_the_first_rows_unless_all_are_asked_for():
    assert section_rows(list(range(9)), show_all=False) == [0, 1, 2, 3, 4]
    assert section_rows(list(range(9)), show_all=True) == list(range(9))
