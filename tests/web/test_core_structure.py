"""Structural rules of the web layer, checked over the whole tree so a slip fails the build.

(a) a partial's root element id names its feature and file, (b) links and form actions are
built by route reversal, never from literal paths, (c) route handlers stay short.
"""

import ast
import inspect
import re
import textwrap
from pathlib import Path

from web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
PARTIALS = WEB / "partials"

# --- (a) partial root ids ----------------------------------------------------------------

# Partials whose root id honestly differs from the rule, with the reason.
ROOT_ID_EXCEPTIONS = {
    "core/field_macros.html": "macros only: each call renders a field, there is no root",
    "contacts/fields.html": "macros only: the contact fields the add and the edit form share",
    "visits/item.html": "one <li> per visit: the id names the visit (visit-<id>), which the "
    "timeline's undo, hx-target and the browser tests address",
    "sales/change_text.html": "inline words included inside other elements' text (a "
    "request's kind and reason), so it has no element of its own",
    "visits/form.html": "inline it replaces a visit on the timeline, so it opens with that "
    "visit's <li id=visit-<id>>; the form inside is visit-form-<id>",
}

_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
_JINJA_MACRO = re.compile(r"\{%-?\s*macro\b.*?\{%-?\s*endmacro\s*-?%\}", re.DOTALL)
_JINJA_STATEMENT = re.compile(r"\{%.*?%\}", re.DOTALL)
_JINJA_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_FIRST_TAG = re.compile(r"<([a-zA-Z][\w-]*)\b([^>]*)>")
_ID_ATTR = re.compile(r"""\bid\s*=\s*["']([^"']*)["']""")


def _partials() -> list[str]:
    return sorted(p.relative_to(PARTIALS).as_posix() for p in PARTIALS.rglob("*.html"))


# Features whose name is not a plural of the id prefix ("sales" is a mass noun).
SINGULAR = {"sales": "sales"}


def expected_root_id(rel: str) -> str:
    """The id a partial's root must carry: <feature-singular>-<name>, core without prefix."""
    feature, name = rel.removesuffix(".html").split("/", 1)
    name = name.replace("_", "-")
    if feature == "core":
        return name
    return f"{SINGULAR.get(feature, feature.removesuffix('s'))}-{name}"


def root_id(rel: str) -> str | None:
    """The id of a partial's first element, Jinja expressions shown as {{}}; None if none."""
    source = (PARTIALS / rel).read_text(encoding="utf-8")
    source = _JINJA_MACRO.sub("", _JINJA_COMMENT.sub("", source))
    source = _JINJA_STATEMENT.sub("", source)
    source = _JINJA_EXPRESSION.sub("{{}}", source)
    tag = _FIRST_TAG.search(source)
    if tag is None:
        return None
    found = _ID_ATTR.search(tag.group(2))
    return found.group(1) if found else None


def follows_id_rule(rel: str, actual: str | None) -> bool:
    """Whether a root id is the expected one, or it followed by -<row id> (one per row)."""
    expected = expected_root_id(rel)
    return actual == expected or actual == expected + "-{{}}"


def test_expected_root_id_examples():
    assert expected_root_id("customers/form.html") == "customer-form"
    assert expected_root_id("visits/timeline.html") == "visit-timeline"
    assert expected_root_id("counter/new_form.html") == "counter-new-form"
    assert expected_root_id("core/flash.html") == "flash"
    assert expected_root_id("core/error_banner.html") == "error-banner"


def test_every_partial_root_id_names_its_feature_and_file():
    wrong = []
    for rel in _partials():
        actual = root_id(rel)
        if rel in ROOT_ID_EXCEPTIONS or follows_id_rule(rel, actual):
            continue
        wrong.append(f"{rel}: root id {actual!r}, expected {expected_root_id(rel)!r}")
    assert not wrong, "partials whose root id breaks the rule:\n" + "\n".join(wrong)


def test_partials_never_extend_a_page():
    extending = [rel for rel in _partials() if "{% extends" in (PARTIALS / rel).read_text()]
    assert not extending, f"partials must not extend: {extending}"


# --- (b) no links from literal paths -----------------------------------------------------

# Literal strings under web/ that start with "/" but are not app links, with the reason.
LITERAL_PATH_ALLOWED = {
    "/proc/self/status": "a Linux file the PDF worker reads its memory from, not a URL",
}
_LINK_ATTR = re.compile(
    r"""\b(href|action|formaction|src|hx-(?:get|post|put|patch|delete|push-url|replace-url))"""
    r"""\s*=\s*["'](/[^"']*)""",
)
# What an app path looks like in Python: "/customers", "/admin/users/", "/login?next=".
_APP_PATH = re.compile(r"/[a-z][\w.-]*(?:[/?].*)?", re.DOTALL)
_ROUTE_DECORATORS = {"get", "post", "put", "patch", "delete", "head", "route", "websocket"}
# Calls whose path= keyword declares a prefix for the handlers below it (not a link).
_PATH_DECLARERS = {"Router", "Controller"}


def _allowed(path: str) -> bool:
    return path.startswith("/static/") or path in LITERAL_PATH_ALLOWED


def template_literal_links() -> list[str]:
    """Every link or form target written as a literal path in a template."""
    found = []
    for template in sorted(WEB.rglob("*.html")):
        text = template.read_text(encoding="utf-8")
        for match in _LINK_ATTR.finditer(text):
            if not _allowed(match.group(2)):
                line = text.count("\n", 0, match.start()) + 1
                rel = template.relative_to(ROOT)
                found.append(f"{rel}:{line}: {match.group(1)}={match.group(2)!r}")
    return found


def _route_definition_strings(tree: ast.AST) -> set[int]:
    """ids of the strings that declare routes: decorator paths, Router(path=), Controller.path."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in _ROUTE_DECORATORS:
                ids.update(id(n) for arg in node.args for n in ast.walk(arg))
                ids.update(id(n) for kw in node.keywords if kw.arg == "path" for n in ast.walk(kw))
            elif name in _PATH_DECLARERS:
                ids.update(id(n) for kw in node.keywords if kw.arg == "path" for n in ast.walk(kw))
        elif isinstance(node, ast.ClassDef):
            for stmt in node.body:
                if isinstance(stmt, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "path" for t in stmt.targets
                ):
                    ids.update(id(n) for n in ast.walk(stmt.value))
    return ids


def python_literal_links() -> list[str]:
    """Every Python string under web/ that spells an app path instead of reversing a route."""
    found = []
    for module in sorted(WEB.rglob("*.py")):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        declared = _route_definition_strings(tree)
        # Only the start of an f-string says whether it is a path.
        inner = {
            id(part)
            for node in ast.walk(tree)
            if isinstance(node, ast.JoinedStr)
            for part in node.values[1:]
        }
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            if id(node) in declared | inner | docstrings or _allowed(node.value):
                continue
            if _APP_PATH.fullmatch(node.value):
                found.append(f"{module.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    return found


def test_the_literal_link_finders_see_what_they_should():
    # Guards the finders themselves: a check that sees nothing would pass forever.
    assert _LINK_ATTR.search('<a href="/customers/{{ c.id }}">')
    assert _LINK_ATTR.search("<form hx-post='/counter/customers'>")
    assert not _LINK_ATTR.search("<a href=\"{{ url_for('customers.list') }}\">")
    tree = ast.parse(
        "from litestar import get\n"
        '@get("/customers", name="customers.list")\n'
        "def handler():\n"
        '    """Docstring /customers."""\n'
        '    return f"/customers/{1}/visits"\n'
        'router = Router(path="/pipeline", route_handlers=[])\n'
        'link = Link(path="/counter")\n'
    )
    declared = _route_definition_strings(tree)
    paths = [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in declared
    ]
    assert "/customers" not in paths and "/customers/" in paths
    assert "/pipeline" not in paths and "/counter" in paths
    assert _allowed("/static/css/app.css") and not _allowed("/customers")


def test_no_app_link_is_built_from_a_literal_path():
    offenders = template_literal_links() + python_literal_links()
    assert not offenders, "build these with url_for / route_reverse:\n" + "\n".join(offenders)


# --- (c) short handlers ------------------------------------------------------------------

MAX_HANDLER_LINES = 30


def handler_lengths(app) -> dict[str, int]:
    """Body length in lines (docstring left out) of every route handler of the app."""
    lengths: dict[str, int] = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            fn = inspect.unwrap(handler.fn)
            node = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]
            lines = body[-1].end_lineno - body[0].lineno + 1 if body else 0
            lengths[f"{fn.__module__}.{fn.__qualname__}"] = lines
    return lengths


def test_handler_lengths_are_measured(settings):
    lengths = handler_lengths(create_app(settings))
    assert lengths["web.system.health.health"] == 2
    assert len(lengths) > 50


def test_no_handler_is_longer_than_30_lines(settings):
    long = sorted(
        (lines, name)
        for name, lines in handler_lengths(create_app(settings)).items()
        if lines > MAX_HANDLER_LINES
    )
    report = "\n".join(f"{name}: {lines} lines" for lines, name in reversed(long))
    print(report)
    assert not long, f"handlers over {MAX_HANDLER_LINES} lines:\n{report}"
