"""The CJK font of the PDFs: a system CJK font when installed, else the shipped Kurinto Sans SC.

WeasyPrint draws every Chinese character as an empty box when no font covers it, while
`pdftotext` still extracts the text, so a missing font is easy to miss. The `weblate-fonts`
wheel (a dependency, OFL-1.1) ships Kurinto Sans SC, so a pip-only or container install
always has one. This module never imports WeasyPrint until a PDF is written: the web
server uses it for its health check.
"""

import functools
import shutil
import subprocess
from importlib import resources
from pathlib import Path

SHIPPED_FAMILY = "Kurinto Sans SC"
SHIPPED_PACKAGE = "weblate-fonts"
# System fonts first: Noto Sans CJK (Debian fonts-noto-cjk) is the finer face where an admin
# installed it. The shipped family comes before the generic one, so a machine without any
# CJK font never falls through to a Latin-only `sans-serif`.
FONT_STACK = f'"Noto Sans CJK SC", "WenQuanYi Micro Hei", "{SHIPPED_FAMILY}", sans-serif'

# The PDFs print in one weight (pdf/weekly.py): declaring the bold file too would make
# WeasyPrint read, copy and register another 10 MB font for every PDF.
_FILES = {400: "KurintoSansSC-Rg.ttf"}


@functools.lru_cache(maxsize=1)
def _shipped_dir() -> Path | None:
    """Where the weblate-fonts wheel keeps Kurinto's TTF files (None when it is not installed)."""
    try:
        root = resources.files("weblate_fonts")
    except ModuleNotFoundError:
        return None
    return Path(str(root)) / "static" / "weblate_fonts" / "kurinto" / "ttf"


def shipped_font_files() -> dict[int, Path]:
    """The shipped font's files the PDFs use that exist, by CSS weight (the regular, 400)."""
    folder = _shipped_dir()
    if folder is None:
        return {}
    found = {weight: folder / name for weight, name in _FILES.items()}
    return {weight: path for weight, path in found.items() if path.is_file()}


def font_face_css(files: dict[int, Path]) -> str:
    """@font-face rules that name the shipped files SHIPPED_FAMILY, one per weight (file URLs)."""
    return "\n".join(
        f'@font-face {{ font-family: "{SHIPPED_FAMILY}"; font-weight: {weight}; '
        f'src: url("{path.resolve().as_uri()}"); }}'
        for weight, path in sorted(files.items())
    )


@functools.lru_cache(maxsize=1)
def system_cjk_families() -> tuple[str, ...]:
    """Font families fontconfig has for Simplified Chinese (asked once per process)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return ()
    try:
        listed = subprocess.run(  # noqa: S603 (a fixed argv, no user input)
            [fc_list, ":lang=zh-cn", "family"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(sorted({ln.split(",")[0].strip() for ln in listed.splitlines() if ln.strip()}))


def cjk_font_problem(
    shipped: dict[int, Path] | None = None, system: tuple[str, ...] | None = None
) -> str | None:
    """None when the PDFs can print Chinese; else one line saying what is missing and the fix.

    The shipped regular face is enough (it is checked on every call: a file stat). Only when
    it is missing is fontconfig asked for a system font, once per process.
    """
    shipped = shipped_font_files() if shipped is None else shipped
    if 400 in shipped:
        return None
    system = system_cjk_families() if system is None else system
    if system:
        return None
    return (
        f"no CJK font for PDFs: Chinese would print as empty boxes. The {SHIPPED_FAMILY} "
        f"font of the {SHIPPED_PACKAGE} package is missing and fontconfig lists no Chinese "
        f"font; reinstall kehu (pip install {SHIPPED_PACKAGE}) or apt-get install "
        f"fonts-noto-cjk, then restart kehu"
    )


def write_pdf(html: str) -> bytes:
    """Render print HTML to PDF bytes with the shipped CJK font declared (imports WeasyPrint)."""
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    font_config = FontConfiguration()
    fonts = CSS(string=font_face_css(shipped_font_files()), font_config=font_config)
    return HTML(string=html).write_pdf(stylesheets=[fonts], font_config=font_config)
