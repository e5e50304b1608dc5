"""How the pages write numbers and areas, and say the English the rules and receivers store, in each language."""

from __future__ import annotations

import pytest
from flask import session

from broadcaster.web.conventions import number, percent
from broadcaster.web.pages.base import area_label
from broadcaster.web.pages.wording import audit_detail, said, said_text
from tests.support.env import Env

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def test_numbers_have_a_decimal_comma_in_vietnamese_and_a_point_in_english(env: Env) -> None:
    with env.app.test_request_context("/"):
        assert [number(0.58), number(0.5833), number(12.0), number(0), number(-1.5)] == ["0,58", "0,58", "12", "0",
                                                                                          "-1,5"]
        assert number(12345.6) == "12.345,6" and number(1234.5) == "1234,5"
        assert percent(0.58) == "58%" and number(None) == "—"
    with env.app.test_request_context("/"):
        session["lang"] = "en"  # chosen before the page's language is first asked for, as in a request
        assert number(0.58) == "0.58" and number(12345.6) == "12,345.6" and percent(0.584, 1) == "58.4%"


def test_an_area_is_named_with_its_level_once(env: Env) -> None:
    with env.app.test_request_context("/"):
        assert area_label({"kind": "commune", "name": "Xã Hòa Bình"}) == "Xã Hòa Bình"
        assert area_label({"kind": "commune", "name": "Hòa Bình"}) == "Xã Hòa Bình"
        assert area_label({"kind": "village", "name": "3"}) == "Thôn 3"
        assert area_label({"kind": "village", "name": "Thôn Đông"}) == "Thôn Đông"
        assert area_label({"kind": "district", "name": "Xã Khánh"}) == "Huyện Xã Khánh", "only its own level"


def test_stored_english_is_said_in_vietnamese_and_unknown_text_is_folded_away(env: Env) -> None:
    with env.app.test_request_context("/"):
        assert said_text("stopped by chutich") == "chutich đã dừng phát"
        assert said_text("the cluster was switched off by the operator") == "cụm loa đã bị tắt"
        assert said_text("emergency: sent without separate approval") == \
            "Khẩn cấp: phát ngay, không qua bước duyệt riêng"
        assert said_text("broadcast 7 'Họp' missed: too late to play") == "lượt phát #7 “Họp” lỡ giờ: quá giờ phát"
        folded = str(said("ffmpeg exited with status 1"))
        assert "chi tiết kỹ thuật" in folded and "<details" in folded
        assert str(said("Sửa lại ngày họp", own=True)) == "Sửa lại ngày họp", "an officer's own words"
        assert str(said("<b>x</b>", own=True)) == "&lt;b&gt;x&lt;/b&gt;"
        detail = str(audit_detail("airtime.set", "05:30-21:30, None min, None/day"))
        assert "None" not in detail and "không giới hạn" in detail and "05:30" in detail
        assert str(audit_detail("airtime.set", "05:30-21:30, 30 min, 4/day")) == \
            "từ 05:30 đến 21:30; mỗi lần: tối đa 30 phút; mỗi ngày: tối đa 4 lần"
    with env.app.test_request_context("/"):
        session["lang"] = "en"
        assert said_text("stopped by chutich") == "stopped by chutich", "English readers read the stored text"
