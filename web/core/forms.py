"""Form bodies: one declared type for URL-encoded posts and the helpers that read fields."""

from typing import Annotated, Any

from litestar.enums import RequestEncodingType
from litestar.params import Body

# A URL-encoded form: repeated keys (checkboxes, tags) arrive as lists.
Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def field(data: dict[str, Any], name: str) -> str:
    """One field as stripped text ('' when absent; the first value of a repeated key)."""
    value = data.get(name, "")
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value).strip()


def field_list(data: dict[str, Any], name: str) -> list[str]:
    """Every value of a repeated field (checkboxes), stripped, empty ones dropped."""
    value = data.get(name, [])
    values = value if isinstance(value, list) else [value]
    return [s for s in (str(v).strip() for v in values) if s]


def fields(data: dict[str, Any]) -> dict[str, str]:
    """The whole form as stripped text, one value per key, to re-render after an error."""
    return {name: field(data, name) for name in data}
