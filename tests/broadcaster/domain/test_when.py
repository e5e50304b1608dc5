"""Dates and times as officers type them (dd/mm/yyyy HH:MM, 24 hours, in their time zone), and ISO for scripts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from broadcaster.domain.errors import Refusal
from broadcaster.domain.when import local_iso, parse_date, parse_datetime, parse_time

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.mark.parametrize("typed", ["02/12/2026 21:43", "2/12/2026 21:43", " 02/12/2026   21:43 ", "02-12-2026 21:43",
                                   "02.12.2026 21:43", "02/12/2026 21h43", "2026-12-02T21:43", "2026-12-02 21:43",
                                   "2026-12-02T14:43:00+00:00"])
def test_a_typed_date_and_time_is_that_moment_in_the_officers_zone(typed: str) -> None:
    moment = parse_datetime(typed, HANOI)
    assert moment is not None
    assert moment.astimezone(UTC) == datetime(2026, 12, 2, 14, 43, tzinfo=UTC), "21:43 in Hanoi is 14:43 UTC"


def test_single_digit_day_month_and_hour() -> None:
    assert parse_datetime("5/3/2027 6:05", HANOI) == datetime(2027, 3, 5, 6, 5, tzinfo=HANOI), "5 March, not May 3"


def test_a_time_alone_is_today_in_that_zone() -> None:
    assert parse_datetime("6:30", HANOI, today=date(2026, 12, 2)) == datetime(2026, 12, 2, 6, 30, tzinfo=HANOI)


def test_empty_is_none_and_iso_keeps_its_offset() -> None:
    assert parse_datetime("", HANOI) is None and parse_datetime(None, HANOI) is None
    assert local_iso("02/12/2026 21:43", HANOI) == "2026-12-02T21:43:00+07:00"
    assert parse_datetime("2026-12-02T21:43+09:00", HANOI) == datetime(2026, 12, 2, 12, 43, tzinfo=UTC)


@pytest.mark.parametrize("typed", ["12/31/2026 10:00", "31/02/2026 10:00", "02/12/2026 24:10", "02/12/2026 9:75",
                                   "02/12/2026", "02/12/26 21:43", "9 PM", "9:43 PM", "hôm nay", "2026-13-02T10:00",
                                   "21:43:00:00"])
def test_a_wrong_date_is_refused_with_the_field_and_the_format(typed: str) -> None:
    with pytest.raises(Refusal) as refused:
        parse_datetime(typed, HANOI, field="play_at")
    assert refused.value.code == "invalid_time" and refused.value.field == "play_at"
    assert "dd/mm/yyyy HH:MM" in refused.value.message


def test_dates_and_times_of_day() -> None:
    assert parse_date("2/12/2026") == date(2026, 12, 2) == parse_date("2026-12-02") == parse_date("02/12/2026")
    assert parse_date(" ") is None
    for wrong in ("12/31/2026", "2026/12/02", "02/12", "30/02/2027"):
        with pytest.raises(Refusal) as refused:
            parse_date(wrong, "until")
        assert refused.value.code == "invalid_date" and refused.value.field == "until"
    assert parse_time("6:30") == time(6, 30) == parse_time("06:30") == parse_time("6h30")
    assert parse_time("17h") == time(17, 0)
    for wrong in ("25:00", "6:3", "6.30 PM"):
        with pytest.raises(Refusal):
            parse_time(wrong)


def test_the_day_changes_across_midnight_in_the_officers_zone() -> None:
    moment = parse_datetime("01/01/2027 06:00", HANOI)
    assert moment is not None and moment.astimezone(UTC).date() == date(2026, 12, 31)
    assert moment - datetime(2026, 12, 31, 23, 0, tzinfo=UTC) == timedelta(0)
