"""Kinds of misreading found in real sentences by the fourth round (December 2026, from the third held-out set and
the design set), each as small cases of its own: rice seasons and varieties by their letters, a provincial office
inside a code, a word glued to its number, a heading in Roman numerals, a project named by a number with a leading
zero, a lone initial before a bracket or a lowercase word, a date with a two-digit year, feet, and words from the
lists (urea, a trailer, a rabies vaccine, an association, a fund). Each rule also has a case it must leave alone."""

from __future__ import annotations

import pytest

from broadcaster.speech.normalize import Normalizer

CASES = [
    # Rice seasons after the words of a crop; a bare "vụ" is no cue, and elsewhere the letters are spelled.
    ("thu hoạch xong vụ ĐX rồi xuống giống vụ HT", "thu hoạch xong vụ đông xuân rồi xuống giống vụ hè thu"),
    ("chuẩn bị gieo sạ vụ lúa TĐ", "chuẩn bị gieo sạ vụ lúa thu đông"),
    ("hoàn thành nhiệm vụ HT trong năm", "hoàn thành nhiệm vụ hát tê trong năm"),
    # A rice variety by its letters after "giống"; a telephone where a number follows "liên hệ".
    ("Các giống ĐT, OM vẫn giữ giá", "Các giống đê tê, ô em vẫn giữ giá"),
    ("mua giống liên hệ ĐT: 0912 345 678", "mua giống liên hệ điện thoại: không chín một hai ba bốn năm sáu bảy tám"),
    # The office of a provincial committee inside a document code.
    ("Tờ trình số 42/TTr-VPUB ngày 6/11",
     "Tờ trình số bốn mươi hai tờ trình văn phòng ủy ban ngày mùng sáu tháng mười một"),
    # A Vietnamese word glued to its number is read apart; codes in Latin letters keep their reading.
    ("miền Nam chiếm hơn70% số ca", "miền Nam chiếm hơn bảy mươi phần trăm số ca"),
    ("xe đi trên QL1A", "xe đi trên quốc lộ một a"),
    # A heading numbered in Roman numerals at a line's start; a Roman numeral after its word is as before.
    ("I. Bệnh đạo ôn cổ bông", "một. Bệnh đạo ôn cổ bông"),
    ("II. Sâu cuốn lá nhỏ", "hai. Sâu cuốn lá nhỏ"),
    ("báo động I.", "báo động một."),
    # A project named by its number with a leading zero is said as written; a plain number is not.
    ("triển khai Đề án 06 của Chính phủ", "triển khai Đề án không sáu của Chính phủ"),
    ("Đề án 15 của tỉnh", "Đề án mười lăm của tỉnh"),
    # A lone initial with its period before a bracket or a lowercase word; after a title too.
    ("Ngày 10/11, P. (18 tuổi) nhận cuộc gọi", "Ngày mùng mười tháng mười một, pê, mười tám tuổi, nhận cuộc gọi"),
    ("Lo sợ, P. lấy gần 30 cây vàng", "Lo sợ, pê lấy gần ba mươi cây vàng"),
    ("ngày 2/6, ông P. (75 tuổi) đến", "ngày mùng hai tháng sáu, ông pê, bảy mươi lăm tuổi, đến"),
    ("tại P. Lạng Thương", "tại phường Lạng Thương"),
    # A date with a two-digit year where a leading zero or a date word says it is a date; else left as it was.
    ("VTV1 - 19h - 10/01/17", "vê tê vê một - mười chín giờ - mùng mười tháng một năm mười bảy"),
    ("ngày 5/9/24 họp", "ngày mùng năm tháng chín năm hai mươi tư họp"),
    # Feet, and words from the lists.
    ("container loại 40 feet", "công te nơ loại bốn mươi phít"),
    ("kéo theo rơmoóc, bón ure và urê", "kéo theo rơ moóc, bón u rê và u rê"),
    ("tiêm vắc xin Rabicin, theo Vinafruit, quỹ Carlyle", "tiêm vắc xin ra bi xin, theo vi na phờ rút, quỹ các lai"),
]


@pytest.mark.parametrize(("text", "reading"), CASES)
def test_fourth_round_kinds(text: str, reading: str) -> None:
    assert Normalizer()(text) == reading
