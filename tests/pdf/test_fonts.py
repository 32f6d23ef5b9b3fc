"""The PDFs never print boxes: the shipped CJK font, used where the system has none."""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pdf.fonts import (
    FONT_STACK,
    SHIPPED_FAMILY,
    cjk_font_problem,
    font_face_css,
    shipped_font_files,
)

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("KEHU_SHOTS", ROOT / "out" / "shots"))
needs_poppler = pytest.mark.skipif(shutil.which("pdffonts") is None, reason="poppler-utils")

# Renders the weekly report in a child whose fontconfig knows no font at all, as in a slim
# container: only the shipped one (declared by @font-face) can draw anything.
RENDER = textwrap.dedent(
    """
    import sys
    from pdf.weekly import render_weekly_pdf
    from tests.pdf.test_weekly_pdf import sample_report, zh_gettext
    sys.stdout.buffer.write(render_weekly_pdf(sample_report(), locale="zh_CN", _=zh_gettext()))
    """
)


def test_the_package_ships_the_regular_chinese_face_the_pdfs_print_in():
    files = shipped_font_files()
    assert sorted(files) == [400]
    assert all(path.stat().st_size > 1_000_000 for path in files.values())


def test_font_face_rules_point_at_the_shipped_files():
    files = shipped_font_files()
    css = font_face_css(files)
    assert css.count("@font-face") == 1
    assert f'font-family: "{SHIPPED_FAMILY}"' in css
    assert f'font-weight: 400; src: url("{files[400].as_uri()}")' in css


def test_the_shipped_font_comes_after_system_cjk_fonts_and_before_the_generic_one():
    families = [f.strip().strip('"') for f in FONT_STACK.split(",")]
    assert families.index("Noto Sans CJK SC") < families.index(SHIPPED_FAMILY)
    assert families[-1] == "sans-serif"


def test_a_missing_font_is_a_problem_only_when_nothing_covers_chinese(tmp_path):
    regular = tmp_path / "KurintoSansSC-Rg.ttf"
    assert cjk_font_problem(shipped={400: regular}, system=()) is None
    assert cjk_font_problem(shipped={}, system=("Noto Sans CJK SC",)) is None
    problem = cjk_font_problem(shipped={}, system=())
    assert "empty boxes" in problem
    assert "weblate-fonts" in problem
    assert "fonts-noto-cjk" in problem


def test_this_install_has_a_cjk_font_for_pdfs():
    assert cjk_font_problem() is None


def _no_fonts_env(tmp_path: Path) -> dict[str, str]:
    """An environment whose fontconfig lists an empty font folder."""
    (tmp_path / "fonts").mkdir()
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">'
        f"<fontconfig><dir>{tmp_path / 'fonts'}</dir>"
        f"<cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>"
    )
    return {**os.environ, "FONTCONFIG_FILE": str(conf), "PYTHONPATH": str(ROOT)}


@needs_poppler
def test_without_system_fonts_the_pdf_embeds_the_shipped_font_and_keeps_the_chinese(tmp_path):
    env = _no_fonts_env(tmp_path)
    listed = subprocess.run(["fc-list"], env=env, capture_output=True, text=True).stdout
    assert listed.strip() == "", "the child must see no system font"
    done = subprocess.run(
        [sys.executable, "-c", RENDER], cwd=ROOT, env=env, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()
    pdf = done.stdout
    fonts = subprocess.run(
        ["pdffonts", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    # name type encoding emb sub uni object ID, after two header lines.
    rows = [line.split() for line in fonts.splitlines()[2:]]
    names = sorted(row[0].split("+", 1)[1] for row in rows)
    # One weight throughout: a bold face would be a second font to load and subset.
    assert names == ["Kurinto-Sans-SC"], fonts
    assert all(row[-5:-2] == ["yes", "yes", "yes"] for row in rows), fonts  # embedded subsets
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    for words in ("周报", "华东销售一组", "核心指标", "每日拜访", "周一"):
        assert words in text
    # A page as a picture, for a person to look at (see the report of this change).
    SHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "70",
            "-f",
            "1",
            "-l",
            "1",
            "-",
            str(SHOTS / "weekly-zh-shipped"),
        ],
        input=pdf,
        check=True,
    )
    assert (SHOTS / "weekly-zh-shipped-1.png").stat().st_size > 10_000


def test_serve_warns_at_start_up_when_no_font_covers_chinese(tmp_path):
    env = _no_fonts_env(tmp_path)
    # Hide the shipped font's package from the child, as if the wheel were missing.
    script = (
        "import sys; sys.modules['weblate_fonts'] = None\n"
        "from web.cli.main import _warn_if_no_cjk_font\n"
        "_warn_if_no_cjk_font()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("kehu: WARNING: no CJK font for PDFs")
    quiet = subprocess.run(
        [sys.executable, "-c", script.split("\n", 1)[1]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert quiet.stderr == ""  # the shipped font alone is enough
