"""Ratios, lists, scores and ranges, read by the words around them: "5/5 xã" (trên), "mũi 1, 2" (a list),
"tỷ số 4-0" (a score), "90 - 90 - 90" (a list), "30-50mm" and "3 tháng - 18 tuổi" (đến), "thứ 2-thứ 6"."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from broadcaster.speech.dates import DATE_WORDS, UNIT_WORDS, Dates, valid_date
from broadcaster.speech.numbers import Dialect, read_digits, read_number

COUNTED = (r"(?i:xã|phường|thị trấn|huyện|tỉnh|thành phố|thôn|bản|làng|ấp|xóm|tổ|khu|hộ|người|chỉ tiêu|tiêu chí|"
           r"nhiệm vụ|đơn vị|trường|lớp|học sinh|em|cơ sở|doanh nghiệp|địa phương|công trình|dự án|mẫu|ca|"
           r"trường hợp|phiếu|đại biểu|thành viên|xe|tàu|con|cây|tuyến|trạm|bệnh viện|sở|ngành|cơ quan|thủ tục|"
           r"hồ sơ|nội dung|mục tiêu|giải|huy chương|trận|phòng|căn|ngôi|cụm|điểm|câu|vòng|lượt|buổi|gói|"
           r"chương trình|hạng mục|phần|đề án|huyện,|vụ|khu vực|thôn,|làng,|nhóm|số|diện tích|dân số|tổng)")
"""Nouns that make "5/5" before them a count out of a total, not the fifth of May."""
QUANTITY = r"(?i:tỷ lệ|tỉ lệ|chiếm|đạt|được|khoảng|gần|hơn|hoàn thành|trong số|tổng số|còn|chỉ có)"
LIST_WORDS = (r"(?i:mũi|lớp|đợt|khoản|điều|thôn|tổ|xóm|khu|câu|bước|tầng|phòng|tuần|quý|nhóm|loại|hạng|khối|"
              r"bản|ấp|làng|phường|quận|xã|cấp)")
"""Words after which "1,2" lists two of them (mũi 1, 2), not a decimal."""
RANGE_HEADS = r"(?i:báo động|cấp|mức|cấp độ)"
"""Words repeated on both sides of a range: "báo động 2 - báo động 3" is "báo động hai đến báo động ba"."""
NUMBER_WORD = r"(?:một|hai|ba|bốn|năm|sáu|bảy|tám|chín|mười)\b"
"""A level already read by the codes: "BĐ2" is "báo động hai" by the time ranges are read."""
SCORE_WORDS = r"(?i:tỷ số|tỉ số|thắng|thua|hòa|hoà)"
"""Words before which "4-0" is a score, said without "đến": bốn không."""
NO_DOUBT = DATE_WORDS + r"\s$"


@dataclass
class Counts:
    dialect: Dialect
    calendar: Dates
    mark: Callable[[str, str, tuple[str, ...]], None]
    """Called where a reading is a guess: (kind, text as written, readings, the chosen one first)."""

    def read(self, s: str) -> str:
        d = self.dialect
        s = re.sub(r"(?<![\d/])24/7\b", "hai mươi tư trên bảy", s)
        s = re.sub(r"\b(" + QUANTITY + r") (\d{1,3})/(\d{1,3})(?![\d/]|[.,]\d)",
                   lambda m: f"{m[1]} {self.ratio(m[2], m[3])}", s)
        s = re.sub(r"(?<![\d/.,])(\d{1,3})/(\d{1,3})(?![\d/]|[.,]\d)(?=\s" + COUNTED + r"(?!\w))",
                   lambda m: m[0] if re.search(NO_DOUBT, s[:m.start()]) else self.ratio(m[1], m[2]), s)
        s = re.sub(r"(?<![\d/.,])(\d{1,3}(?:\.\d{3})*)/(\d{1,3}(?:\.\d{3})+)(?![\d/])",  # 762.320/800.719
                   lambda m: f"{m[1]} trên {m[2]}", s)
        # Cases over deaths, as weekly reports write them: "số mắc 7.582/1" (no day has thousands).
        s = re.sub(r"(?<![\d/.,])(\d{1,3}(?:\.\d{3})+)/(\d{1,3})(?![\d/]|[.,]\d)", lambda m: f"{m[1]} trên {m[2]}", s)
        # A rate of words or per a number: "tỷ lệ chết/mắc", "số mắc/100.000 dân".
        s = re.sub(r"(?i)\b(tỷ lệ|tỉ lệ) ([^\W\d_]+)/(?=[^\W\d_])", r"\1 \2 trên ", s)
        s = re.sub(r"(?<=[^\W\d_A-ZĐ])\s?/\s?(?=\d)", " trên ", s)
        s = re.sub(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?![\d/]|[.,]\d)", self._bare_slash, s)
        # Two numbers that cannot be a day and a month: "huyết áp 120/80" is một trăm hai mươi trên tám mươi.
        s = re.sub(r"(?<![\d/.,])(\d{2,3})/(\d{2,3})(?![\d/]|[.,]\d)",
                   lambda m: m[0] if valid_date(int(m[1]), int(m[2])) else self.ratio(m[1], m[2]), s)
        s = re.sub(r"\b(" + LIST_WORDS + r") (\d{1,2}(?:\s?,\s?\d{1,2})+)(?![\d.,]*\d)(?!\s?(?:[-–%]|ha\b|km\b|m\b))",
                   lambda m: m[1] + " " + ", ".join(read_number(int(n), d) for n in re.findall(r"\d+", m[2])), s)
        # "báo động 2 - báo động 3", "BĐ1-BĐ2" (read "báo động một-báo động hai" by then); not "cấp IV - cấp nguy
        # hiểm", where the dash says what the level means.
        s = re.sub(r"\b(" + RANGE_HEADS + r") ([^\s\-–]+) ?[-–] ?(?=" + RANGE_HEADS + r" (?:\d|[IVX]+\b|" + NUMBER_WORD
                   + r"))", r"\1 \2 đến ", s)
        s = re.sub(r"(?i)\b(thứ \d) ?[-–] ?(?=thứ \d)", r"\1 đến ", s)  # "Thứ 2-Thứ 6"
        # Scores: "tỷ số 4-0", "thắng 2-1".
        s = re.sub(r"\b(" + SCORE_WORDS + r")( (?:cách biệt |chung cuộc )?)(\d{1,2}) ?[-–] ?(\d{1,2})\b(?![-–/.,]?\d)",
                   lambda m: f"{m[1]}{m[2]}{read_number(int(m[3]), d)} {read_number(int(m[4]), d)}", s)
        # Three or more numbers joined by dashes are a list, not a range: "mục tiêu 90 - 90 - 90".
        s = re.sub(r"(?<![\w.,])\d+(?:\s?[-–]\s?\d+){2,}(?![\w/-]|[.,]\d)",
                   lambda m: ", ".join(read_number(int(n), d) for n in re.findall(r"\d+", m[0])), s)
        # Sections of a text: "2.1. Thống nhất...", "khoản 3.1".
        s = re.sub(r"(?m)^(\d{1,2})\.(\d{1,2})\.(?=\s)", lambda m: f"{read_number(int(m[1]), d)} chấm "
                   f"{read_number(int(m[2]), d)}.", s)
        s = re.sub(r"(?i)\b(khoản|mục|tiểu mục|phần|điểm) (\d{1,2})\.(\d{1,2})\b(?![.,]?\d)",
                   lambda m: f"{m[1]} {read_number(int(m[2]), d)} chấm {read_number(int(m[3]), d)}", s)
        # A version: "phiên bản 2.0".
        s = re.sub(r"(?i)\b(phiên bản|version) (\d+)\.(\d+)\b",
                   lambda m: f"{m[1]} {read_number(int(m[2]), d)} chấm {read_digits(m[3])}", s)
        # A range whose two ends carry the same unit, glued or not: "11.500 đồng/kg – 12.500 đồng/kg", "5kg-10kg",
        # "20.000đ - 25.000đ", "30%-40%".
        s = re.sub(r"(?<![\w.,])(\d[\d.,]*)(\s?)([^\W\d_]+(?:/[^\W\d_]+)?|%)\s?[-–]\s?(?=\d[\d.,]*\2\3(?![\w/]))",
                   r"\1\2\3 đến ", s)
        # A range with a word between its ends: "từ 3 tháng - 18 tuổi".
        s = re.sub(r"(?<![\w.,])(\d[\d.,]*\s([^\W\d]+))\s[-–]\s(?=\d)",
                   lambda m: f"{m[1]} đến " if m[2].islower() else m[0], s)
        # A range goes up: "đến 22-4 hoặc 30-4" is a day and a month (not before a unit: "giảm 10-5%").
        s = re.sub(r"(?<![\w.,/-])(\d{1,2})-(\d{1,2})\b(?![.,/-]?\d)(?!\s?(?:%|" + UNIT_WORDS + r"\b))",
                   self._downward, s)
        # Year ranges and number ranges, glued to their units too: 2021-2025, 5-7, 30-50mm.
        return re.sub(r"(?<![\w.,])(\d[\d.,]*)\s?[-–]\s?(\d[\d.,]*\d|\d)(?!\d)", r"\1 đến \2", s)

    def _downward(self, m: re.Match[str]) -> str:
        """"22-4" goes down, so it is no range but a day and a month; marked, as a range it would be read
        "hai mươi hai đến bốn"."""
        first, second = int(m[1]), int(m[2])
        if not (first > second > 0 and valid_date(first, second)):
            return m[0]
        reading = self.calendar.date_or_ratio(m[1], m[2])
        if not re.search(NO_DOUBT, m.string[:m.start()]):
            self.mark("date_or_range", m[0], (reading, f"{read_number(first, self.dialect)} đến "
                                                        f"{read_number(second, self.dialect)}"))
        return reading

    def ratio(self, a: str, b: str) -> str:
        return f"{read_number(int(a), self.dialect)} trên {read_number(int(b), self.dialect)}"

    def _bare_slash(self, m: re.Match[str]) -> str:
        """"3/12" with nothing around it to say what it is: a date when it can be one, but marked for the
        officer, who may choose "ba trên mười hai"."""
        reading = self.calendar.date_or_ratio(m[1], m[2])
        if re.search(NO_DOUBT, m.string[:m.start()]):
            return reading  # "ngày 3/12": a date, no doubt
        ratio = self.ratio(m[1], m[2])
        if reading != ratio:
            self.mark("date_or_ratio", m[0], (reading, ratio))
        return reading
