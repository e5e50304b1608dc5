"""How the pages write times and numbers: one format for a moment, dd/mm/yyyy HH:MM on the 24-hour clock in
the officer's time zone, and a decimal comma (0,58; 58%) for a Vietnamese reader. An officer who chose
English keeps the same dates (they are not ambiguous written this way) and gets the decimal point."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import get_locale

MOMENT = "%d/%m/%Y %H:%M"
DAY = "%d/%m/%Y"
CLOCK = "%H:%M"
EMPTY = "—"

TYPED_MOMENT = "dd/mm/yyyy HH:MM"
"""What a date-and-time field asks for (its placeholder, and the words of its refusal)."""


def english() -> bool:
    return str(get_locale() or "vi").startswith("en")


def moment(value: datetime | None, zone: ZoneInfo, empty: str = EMPTY) -> str:
    """A moment as officers read it: 02/12/2026 21:43 in ``zone`` (a naive value is taken as UTC)."""
    if value is None:
        return empty
    if value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone).strftime(MOMENT)


def typed(value: datetime | None, zone: ZoneInfo) -> str:
    """A moment as a date-and-time field shows it (and as its text is typed): 02/12/2026 21:43."""
    return moment(value, zone, "")


def day(value: date | datetime | None, empty: str = EMPTY) -> str:
    return value.strftime(DAY) if value is not None else empty


def number(value: float | int | None, digits: int = 2, empty: str = EMPTY) -> str:
    """A number with at most ``digits`` decimals, trailing zeros dropped: 0,58 (Vietnamese), 0.58 (English);
    thousands grouped with a dot (Vietnamese) or a comma (English) from 10 000 up."""
    if value is None:
        return empty
    text = f"{round(float(value), digits):,.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    whole, _, fraction = text.partition(".")
    if len(whole.lstrip("-").replace(",", "")) < 5:
        whole = whole.replace(",", "")
    if english():
        return whole + ("." + fraction if fraction else "")
    return whole.replace(",", ".") + ("," + fraction if fraction else "")


def percent(fraction: float | None, digits: int = 0, empty: str = EMPTY) -> str:
    """A share (0.58) as a percentage: 58%."""
    if fraction is None:
        return empty
    return number(fraction * 100, digits) + "%"
