"""A domain rule's refusal, and reading a text field: what the API and the pages turn into a 4xx answer or a
message on the page."""

from __future__ import annotations

from typing import Any


class Refusal(Exception):
    """A request the system will not carry out: a stable code, a message for people, an HTTP status, and
    optionally structured ``details`` (e.g. each air-time rule broken, for the page to show)."""

    def __init__(self, code: str, message: str, status: int = 422, field: str | None = None,
                 details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.field = code, message, status, field
        self.details = details


def text_field(data: dict[str, Any], name: str, limit: int) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise Refusal("missing_field", f"'{name}' is required and must be non-empty text", field=name)
    value = value.strip()
    if len(value) > limit:
        raise Refusal("too_long", f"'{name}' is longer than {limit} characters", field=name)
    if "\x00" in value:
        raise Refusal("invalid_text", f"'{name}' contains a NUL character", field=name)
    return value
