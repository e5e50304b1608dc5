"""Kinds of misreading found in real sentences by the third round (December 2026), each as small cases of its own:
a "số" written before a code and said once, a National Assembly body with its term, levels of wind with a slash,
an hour glued to its date, abbreviations in brackets after the words they stand for, two abbreviations joined by a
period, a lone capital letter closing a clause, and words from the lists (a document desk, an app in capitals,
vaccine types, a farming standard, typhoon names)."""

from __future__ import annotations

import pytest

from bench.normalize_score import matches
from broadcaster.speech.normalize import Normalizer

CASES = [
    # "Số:" heads a document and the code after it is not given a second "số".
    ("Số: 59/2022/NĐ-CP", "Số: năm mươi chín năm hai nghìn không trăm hai mươi hai nghị định chính phủ"),
    ("Thông tư liên tịch số: 12/2020/TTLT-BTC", "Thông tư liên tịch số: mười hai năm hai nghìn không trăm hai mươi "
     "thông tư liên tịch bộ tài chính"),
    ("theo 12/2021/NĐ-CP", "theo số mười hai năm hai nghìn không trăm hai mươi mốt nghị định chính phủ"),
    # A body of the National Assembly with its term, inside a code or alone.
    ("Nghị quyết số 12/2024/UBTVQH15", "Nghị quyết số mười hai năm hai nghìn không trăm hai mươi tư ủy ban thường vụ "
     "quốc hội khóa mười lăm"),
    ("do UBTVQH14 ban hành", "do ủy ban thường vụ quốc hội khóa mười bốn ban hành"),
    ("Hướng dẫn số 5/HD-UBTVQH14", "Hướng dẫn số năm hướng dẫn ủy ban thường vụ quốc hội khóa mười bốn"),
    # Levels of wind with a slash are a range; a day and month with a slash stay a date.
    ("gió cấp 6/7, giật cấp 9", "gió cấp sáu đến bảy, giật cấp chín"),
    ("ngày 6/7 có gió", "ngày mùng sáu tháng bảy có gió"),
    # An hour glued to its date by a slash.
    ("đạt đỉnh lúc 5h/12/8 rồi xuống", "đạt đỉnh lúc năm giờ ngày mười hai tháng tám rồi xuống"),
    ("lúc 13h30/2/9", "lúc mười ba giờ ba mươi phút ngày mùng hai tháng chín"),
    # An abbreviation in brackets after the words it stands for is not read again, commas or capitals aside;
    # one that is not (an English name) is read after a pause, and each bracket pairs with its own end.
    ("công tác phòng, chống thiên tai (PCTT) năm nay", "công tác phòng, chống thiên tai năm nay"),
    ("Trung tâm (CDC) cho biết ca Tay chân miệng (TCM) tăng", "Trung tâm, xê đê xê, cho biết ca Tay chân miệng tăng"),
    # Two abbreviations joined by a period; a listed whole stays as listed.
    ("UB.MTTQ xã hỗ trợ", "ủy ban mặt trận tổ quốc xã hỗ trợ"),
    ("tại TP.HCM hôm qua", "tại thành phố hồ chí minh hôm qua"),
    # Words from the lists.
    ("văn bản 12/UBND-NC", "văn bản mười hai ủy ban nhân dân nội chính"),
    ("cài ứng dụng VNEID", "cài ứng dụng vê en e ai đi"),
    ("vắc xin Type O", "vắc xin típ ô"),
    ("đạt chuẩn VietGAP và Viet GAP", "đạt chuẩn việt gáp và việt gáp"),
    ("bão Noru và siêu bão YUTU", "bão nô ru và siêu bão iu tu"),
    # A lone capital closing a clause after an ordinary word is said by its letter's name; after the words that take
    # Roman numerals it is still a number.
    ("chuyển tiền vào tài khoản tại ngân hàng V.", "chuyển tiền vào tài khoản tại ngân hàng vê."),
    ("thuộc nhóm máu O, hiếm", "thuộc nhóm máu ô, hiếm"),
    ("Đại hội khóa V.", "Đại hội khóa năm."),
    ("Phụ lục I.", "Phụ lục một."),
]


@pytest.mark.parametrize(("text", "reading"), CASES)
def test_third_round_kinds(text: str, reading: str) -> None:
    assert Normalizer()(text) == reading


def test_an_expected_reading_may_list_readings_heard_as_equally_right() -> None:
    assert matches("ngày mùng sáu", "ngày sáu|ngày mùng sáu")
    assert matches("Ngày sáu.", "ngày sáu|ngày mùng sáu")
    assert not matches("ngày mười sáu", "ngày sáu|ngày mùng sáu")
