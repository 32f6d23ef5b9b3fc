"""Names: bidi controls stripped, one length limit for people and teams."""

from domain.text import NAME_MAX_LENGTH, clean_name, name_too_long, strip_bidi


def test_every_bidi_override_and_isolate_is_removed():
    controls = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
    assert strip_bidi("王" + "".join(controls) + "芳") == "王芳"
    assert clean_name("\u202eAdmin\u202c  Wang\u2066 ") == "Admin Wang"


def test_controls_and_spacing_are_tidied_but_letters_kept():
    assert clean_name("  陈\t静\n") == "陈 静"
    assert clean_name("Zoë\u00a0O'Brien") == "Zoë O'Brien"
    assert clean_name("\u202e\u2067") == ""


def test_one_limit_for_person_and_team_names():
    assert NAME_MAX_LENGTH == 100
    assert not name_too_long("字" * NAME_MAX_LENGTH)
    assert name_too_long("字" * (NAME_MAX_LENGTH + 1))
