"""Which real alerts say they are tests although their status says Actual, and which do not; the default
mapping table's reading of CAP 1.0 values."""

from __future__ import annotations

import pytest

from broadcaster.domain.cap.parse import parse
from broadcaster.domain.cap.policy import DEFAULT_RULES, is_test, priority_of
from tests.support.cap import ROWS, alert_xml, info_xml, read


@pytest.mark.parametrize("row", [r for r in ROWS if r["status"] == "Actual" and r["expected"] != "reject"],
                         ids=lambda r: r["file"])
def test_a_real_actual_alert_is_a_test_exactly_when_the_duty_officer_said_so(row: dict[str, str]) -> None:
    assert is_test(parse(read(row["file"]))) == (row["why"] == "test_message")


@pytest.mark.parametrize(("description", "test"), [
    ("Free drive-through sites for testing open today at the county fairground.", False),
    ("COVID-19 testing is available to every resident.", False),
    ("This is only a test of the emergency alert system.", True),
    ("Đây là tin thử của hệ thống cảnh báo.", True),
])
def test_a_description_says_it_is_a_test_only_in_so_many_words(description: str, test: bool) -> None:
    alert = parse(alert_xml("P-1", info_xml(description=description)))
    assert is_test(alert) == test


def test_cap_10_very_likely_is_likely() -> None:
    alert = parse(read("oasis-cap10-a3-earthquake.xml"))
    assert alert.infos[0].certainty == "Very Likely" and priority_of(alert.infos[0], DEFAULT_RULES) == "none"
    likely = parse(alert_xml("P-2", info_xml(urgency="Immediate", severity="Severe", certainty="Very Likely")))
    assert priority_of(likely.infos[0], DEFAULT_RULES) == "emergency"
