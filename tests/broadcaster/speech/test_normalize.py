"""Text normalization: what officers type -> what a Vietnamese listener expects to hear."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from broadcaster.speech.normalize import Normalizer
from broadcaster.speech.numbers import NORTH, SOUTH, read_number

NUMBERS = [
    (0, "không"), (5, "năm"), (10, "mười"), (11, "mười một"), (14, "mười bốn"), (15, "mười lăm"),
    (20, "hai mươi"), (21, "hai mươi mốt"), (24, "hai mươi tư"), (25, "hai mươi lăm"), (74, "bảy mươi tư"),
    (100, "một trăm"), (105, "một trăm linh năm"), (110, "một trăm mười"), (115, "một trăm mười lăm"),
    (208, "hai trăm linh tám"), (1000, "một nghìn"), (1001, "một nghìn không trăm linh một"),
    (1050, "một nghìn không trăm năm mươi"), (1950, "một nghìn chín trăm năm mươi"),
    (2023, "hai nghìn không trăm hai mươi ba"), (10000, "mười nghìn"), (12500, "mười hai nghìn năm trăm"),
    (100000, "một trăm nghìn"), (1000005, "một triệu không trăm linh năm"),
    (2500000, "hai triệu năm trăm nghìn"), (3000000000, "ba tỷ"),
]


@pytest.mark.parametrize(("number", "reading"), NUMBERS)
def test_numbers(number: int, reading: str) -> None:
    assert read_number(number) == reading


def test_southern_readings() -> None:
    assert read_number(1000, SOUTH) == "một ngàn"
    assert read_number(208, SOUTH) == "hai trăm lẻ tám"


CASES = [
    # dates
    ("Ngày 20/9 họp dân.", "Ngày hai mươi tháng chín họp dân."),
    ("ngày 7-6-2023", "ngày mùng bảy tháng sáu năm hai nghìn không trăm hai mươi ba"),
    ("ngày 01/01/2025", "ngày mùng một tháng một năm hai nghìn không trăm hai mươi lăm"),
    ("ngày 30/4", "ngày ba mươi tháng tư"),
    ("tháng 9/2024", "tháng chín năm hai nghìn không trăm hai mươi tư"),
    ("giai đoạn 2021-2025", "giai đoạn hai nghìn không trăm hai mươi mốt đến hai nghìn không trăm hai mươi lăm"),
    # times
    ("lúc 14h30", "lúc mười bốn giờ ba mươi phút"),
    ("lúc 7h30 sáng", "lúc bảy giờ ba mươi phút sáng"),
    ("từ 17h", "từ mười bảy giờ"),
    ("lúc 6h00", "lúc sáu giờ"),
    ("lúc 14:01", "lúc mười bốn giờ một phút"),
    # numbers with Vietnamese separators, ratios, per-unit
    ("1.950 hộ", "một nghìn chín trăm năm mươi hộ"),
    ("đạt 95,75%", "đạt chín mươi lăm phẩy bảy mươi lăm phần trăm"),
    ("208 người", "hai trăm linh tám người"),
    ("hoàn thành 22/22 nhiệm vụ", "hoàn thành hai mươi hai trên hai mươi hai nhiệm vụ"),
    ("74 thuê bao/100 dân", "bảy mươi tư thuê bao trên một trăm dân"),
    ("mức thu 500.000đ/hộ", "mức thu năm trăm nghìn đồng trên hộ"),
    ("giá 12.500 đồng/kg", "giá mười hai nghìn năm trăm đồng trên ki lô gam"),
    # units and money
    ("lượng mưa 120 mm", "lượng mưa một trăm hai mươi mi li mét"),
    ("cách 15 km", "cách mười lăm ki lô mét"),
    ("nhiệt độ 38°C", "nhiệt độ ba mươi tám độ xê"),
    ("tổng vốn 2,5 tỷ đồng", "tổng vốn hai phẩy năm tỷ đồng"),
    ("diện tích 30 ha", "diện tích ba mươi héc ta"),
    # phones and hotlines, digit by digit
    ("gọi 0912 345 678", "gọi không chín một hai ba bốn năm sáu bảy tám"),
    ("đường dây nóng 113", "đường dây nóng một một ba"),
    ("số điện thoại 0203.3852.123", "số điện thoại không hai không ba ba tám năm hai một hai ba"),
    # abbreviations
    ("UBND xã", "ủy ban nhân dân xã"),
    ("HĐND huyện", "hội đồng nhân dân huyện"),
    ("Sở TT&TT", "Sở thông tin và truyền thông"),
    ("BCĐ CĐS", "ban chỉ đạo chuyển đổi số"),
    ("phát triển KT-XH", "phát triển kinh tế xã hội"),
    ("giải quyết TTHC", "giải quyết thủ tục hành chính"),
    ("trường THCS", "trường trung học cơ sở"),
    # legal references, roman numerals, tech tokens
    ("Nghị định 49/2024/NĐ-CP", "Nghị định bốn mươi chín năm hai nghìn không trăm hai mươi tư nghị định chính phủ"),
    ("theo 49/2024/NĐ-CP", "theo số bốn mươi chín năm hai nghìn không trăm hai mươi tư nghị định chính phủ"),
    ("Nghị quyết số 09-NQ/TU", "Nghị quyết số chín nghị quyết tỉnh ủy"),
    ("Khoản 2 Điều 5", "Khoản hai Điều năm"),
    ("Quý III", "Quý ba"),
    ("khóa XV", "khóa mười lăm"),
    ("mạng 5G", "mạng năm gờ"),
    ("lần thứ 4", "lần thứ tư"),
    ("hạng thứ 1", "hạng thứ nhất"),
    # rates, slashes and scale words
    ("hỗ trợ 1,5 triệu đồng/tháng", "hỗ trợ một phẩy năm triệu đồng trên tháng"),
    ("300 triệu đồng/mô hình/năm", "ba trăm triệu đồng trên mô hình trên năm"),
    ("phòng, chống HIV/AIDS", "phòng, chống hát i vê ết"),
    ("gieo cấy 1,93 triệu ha lúa", "gieo cấy một phẩy chín mươi ba triệu héc ta lúa"),
    ("mưa lớn (>120 mm/6 giờ)", "mưa lớn, trên một trăm hai mươi mi li mét trên sáu giờ,"),
    ("trẻ dưới 2 tuổi (< 24 tháng)", "trẻ dưới hai tuổi, dưới hai mươi tư tháng,"),
    # months, numbers of a year, ranges of dates
    ("đợt 1 từ tháng 4 - 5/2012", "đợt một từ tháng tư đến tháng năm năm hai nghìn không trăm mười hai"),
    ("Thông tin giá cả số 50/2020", "Thông tin giá cả số năm mươi năm hai nghìn không trăm hai mươi"),
    ("từ tháng 01/2014 đến 12/2015", "từ tháng một năm hai nghìn không trăm mười bốn đến tháng mười hai năm hai nghìn "
     "không trăm mười lăm"),
    ("từ ngày 15.12.2015 – 5.1.2016", "từ ngày mười lăm tháng mười hai năm hai nghìn không trăm mười lăm đến mùng năm "
     "tháng một năm hai nghìn không trăm mười sáu"),
    ("xuống giống từ 25.11 đến 15.12", "xuống giống từ hai mươi lăm tháng mười một đến mười lăm tháng mười hai"),
    ("kỳ nghỉ lễ 30/4 - 1/5", "kỳ nghỉ lễ ba mươi tháng tư, mùng một tháng năm"),
    ("Hết quý I-2020", "Hết quý một năm hai nghìn không trăm hai mươi"),
    # scores, lists, people named by initials, points of a list
    ("thắng với tỷ số 4-0", "thắng với tỷ số bốn không"),
    ("mục tiêu 90 - 90 - 90", "mục tiêu chín mươi, chín mươi, chín mươi"),
    ("ông N.H.Q. (76 tuổi)", "ông en hát qui, bảy mươi sáu tuổi,"),
    ("Anh T. nhận tin nhắn", "Anh tê nhận tin nhắn"),
    ("mức hỗ trợ: a) Bằng 30%; b) Bằng 25%", "mức hỗ trợ: a, Bằng ba mươi phần trăm; bê, Bằng hai mươi lăm phần trăm"),
    # codes and addresses
    ("tại Km571+830 quốc lộ 1A", "tại ki lô mét năm trăm bảy mươi mốt cộng tám trăm ba mươi quốc lộ một a"),
    ("giống lúa OM 6932", "giống lúa ô em sáu nghìn chín trăm ba mươi hai"),
    ("truy cập baothanhhoa.vn", "truy cập báo thanh hóa chấm vê en"),
    ("lúc 3h30 phút", "lúc ba giờ ba mươi phút"),
    # second round: hours written once after a range, spaces between thousands, a leading zero after the comma,
    # alarm levels, kilometres named before their number, counts over deaths, slashes between words
    ("khung giờ 11-14h và 18-23h", "khung giờ mười một đến mười bốn giờ và mười tám đến hai mươi ba giờ"),
    ("khoảng 346 000 ha", "khoảng ba trăm bốn mươi sáu nghìn héc ta"),
    ("1,088 triệu ha", "một phẩy không trăm tám mươi tám triệu héc ta"),
    ("từ cấp IV - cấp nguy hiểm", "từ cấp bốn - cấp nguy hiểm"),
    ("ở mức Báo động (BĐ)1", "ở mức Báo động một"),
    ("lên mức BĐ1-BĐ2", "lên mức báo động một đến báo động hai"),
    ("tại km số 4", "tại ki lô mét số bốn"),
    ("số nhập viện là 7.582/1", "số nhập viện là bảy nghìn năm trăm tám mươi hai trên một"),
    ("tỷ lệ chết/mắc", "tỷ lệ chết trên mắc"),
    ("EVNHANOI khuyến nghị", "e vê en hà nội khuyến nghị"),
    ("ông Nguyễn Sáng, HUV", "ông Nguyễn Sáng, huyện ủy viên"),
    ("giống lúa BT7", "giống lúa bê tê bảy"),
    ("các tuýp O, A", "các tuýp ô, a"),
    ("Thông báo sô 1481/TB-UBND", "Thông báo số một nghìn bốn trăm tám mươi mốt thông báo ủy ban nhân dân"),
    ("trên chuyến bay VN36", "trên chuyến bay vê en ba mươi sáu"),
    ("đến 22-4 hoặc 30-4", "đến hai mươi hai tháng tư hoặc ba mươi tháng tư"),
    ("huyết áp 120/80 mmHg", "huyết áp một trăm hai mươi trên tám mươi mi li mét thủy ngân"),
    ("nhà 2,5m x 10m", "nhà hai phẩy năm mét nhân mười mét"),
    ("1/2 số hộ", "một trên hai số hộ"),
    ("liên hệ (0236) 3.822.333", "liên hệ không hai ba sáu ba tám hai hai ba ba ba"),
    ("Công văn 56/UBND-KTN", "Công văn năm mươi sáu ủy ban nhân dân ca tê en"),
    ("Trung tá Nguyễn Văn B., Trưởng Công an xã", "Trung tá Nguyễn Văn bê, Trưởng Công an xã"),
    ("Sởi-Rubella (MR)", "Sởi- ru bê la, em rờ,"),
    ("xe ô tô BKS 19C-113.48", "xe ô tô biển kiểm soát mười chín xê, một một ba bốn tám"),
    ("Kết luận 126-KL/TW", "Kết luận một trăm hai mươi sáu kết luận trung ương"),
    ("lãi suất 6,5%/năm", "lãi suất sáu phẩy năm phần trăm trên năm"),
    ("công văn số số 01/CV-BCĐ", "công văn số một công văn ban chỉ đạo"),
    ("Buổi sáng: 08 giờ 00 phút", "Buổi sáng: tám giờ"),
    ("bón 4-5 kg DAP", "bón bốn đến năm ki lô gam đê a pê"),
]


@pytest.mark.parametrize(("text", "reading"), CASES)
def test_bulletin_phrases(text: str, reading: str) -> None:
    assert Normalizer()(text) == reading


def test_no_digits_left_in_a_real_bulletin() -> None:
    text = ("Thực hiện Kế hoạch số 125/KH-UBND ngày 15/3/2025 của UBND huyện, từ 7h30 ngày 20/3 đến 17h ngày "
            "25/3, TYT xã tiêm vắc xin cho 1.250 trẻ, đạt 98,5%. Liên hệ 0912.345.678 hoặc 115.")
    out = Normalizer()(text)
    assert not re.search(r"\d", out), out
    assert "UBND" not in out and "TYT" not in out


def test_commune_words_win_over_built_in_ones() -> None:
    normalizer = Normalizer(extra={"TYT": "trạm xá", "Nà Lầu": "Nà Làu"})
    assert normalizer("TYT bản Nà Lầu") == "trạm xá bản Nà Làu"


def test_sentences_split_where_a_reader_pauses() -> None:
    parts = Normalizer().sentences("Thông báo họp dân. Thời gian: 19h! Địa điểm nhà văn hóa\nXin cảm ơn.")
    assert parts == ["Thông báo họp dân.", "Thời gian:", "mười chín giờ!", "Địa điểm nhà văn hóa", "Xin cảm ơn."]


def test_control_characters_and_punctuation_only() -> None:
    assert Normalizer()("a\x07b\x00c\td") == "a b c d"
    assert Normalizer().sentences("!!! ... ???") == []


def test_dialect_setting_changes_readings() -> None:
    assert Normalizer(SOUTH)("1.005 hộ") == "một ngàn không trăm lẻ năm hộ"
    assert Normalizer(NORTH)("1.005 hộ") == "một nghìn không trăm linh năm hộ"


def test_normalize_command_reads_standard_input() -> None:
    result = subprocess.run([sys.executable, "-m", "broadcaster.cli", "normalize", "-"],
                            input="UBND xã họp lúc 14h30.", capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "ủy ban nhân dân xã họp lúc mười bốn giờ ba mươi phút."


def test_document_code_parts_are_read_by_the_words_around_them() -> None:
    assert Normalizer()("Công ty CP Sông Đà") == "Công ty cổ phần Sông Đà"  # not "chính phủ", as in NĐ-CP
    assert Normalizer()("Quyết định số 15/QĐ-UBND") == "Quyết định số mười lăm quyết định ủy ban nhân dân"


def test_new_guesses_are_marked_for_the_officer() -> None:
    marks = Normalizer().marks("Chỉ số 2.8 tăng; Kế hoạch ban hành 12/2015, thực hiện đến 12/2016.")
    found = {m.kind: m for m in marks}
    assert sorted((m.kind, m.text) for m in marks) == [("decimal_or_date", "2.8"), ("month_or_number", "12/2015")]
    assert found["decimal_or_date"].readings == ("hai phẩy tám", "mùng hai tháng tám")
    assert found["month_or_number"].readings[1] == "mười hai năm hai nghìn không trăm mười lăm"
    assert Normalizer().marks("động đất 3.4 độ richter") == []  # a unit says it is a decimal


def test_corpus_accuracy_meets_the_target() -> None:
    """At least 97% of the hand-written corpus (every category in docs/speech.md) is read exactly right."""
    from bench.normalize_score import load_corpus, score

    cases = load_corpus()
    assert len(cases) >= 200
    assert {c for c, _, _ in cases} >= {"number", "decimal", "percent", "date", "range", "time", "ratio", "money",
                                        "unit", "phone", "abbreviation", "legal", "roman", "tech", "ordinal"}
    accuracy, failures = score(Normalizer(), cases)
    assert accuracy >= 0.97, "\n".join(f"{t} -> {g} (expected {e})" for _, t, e, g in failures)


def test_no_digit_survives_anywhere_in_the_corpus() -> None:
    from bench.normalize_score import load_corpus

    normalizer = Normalizer()
    leftovers = [(text, out) for _, text, _ in load_corpus() if re.search(r"\d", out := normalizer(text))]
    assert leftovers == []


@pytest.mark.parametrize("other", ["vinorm", "vietnormalizer"])
def test_ours_is_clearly_ahead_of_other_normalizers(other: str) -> None:
    """Optional: runs where the other normalizer is installed (it is not a dependency of ours)."""
    pytest.importorskip(other)
    from bench.normalize_score import competitors, load_corpus, score

    cases = load_corpus()
    ours, _ = score(Normalizer(), cases, lenient=True)
    theirs, _ = score(competitors()[other], cases, lenient=True)
    assert ours >= theirs + 0.10


def test_the_second_rounds_guesses_are_marked() -> None:
    text = "thực hiện đến 22-4 hoặc 30-4; khoảng 346 500 ha; 400 000 ha"
    marks = {m.kind: m for m in reversed(Normalizer().marks(text))}  # the first mark of each kind
    assert marks["date_or_range"].readings == ("hai mươi hai tháng tư", "hai mươi hai đến bốn")
    assert marks["number_or_numbers"].text == "346 500"
    assert marks["number_or_numbers"].readings[1] == "ba trăm bốn mươi sáu, năm trăm"
    assert [m.text for m in Normalizer().marks("400 000 ha")] == []  # whole thousands are one number
    assert [m.text for m in Normalizer().marks("EVNHCMC")] == ["EVNHCMC"]



def test_every_kind_of_mark_the_normalizer_makes_is_one_it_declares() -> None:
    from pathlib import Path

    from broadcaster.speech import normalize

    made = set()
    for path in Path(normalize.__file__).parent.glob("*.py"):
        made |= set(re.findall(r'"([a-z]+_or_[a-z]+)"', path.read_text(encoding="utf-8")))
    assert made <= set(normalize.MARK_KINDS), "the API's document lists MARK_KINDS"
