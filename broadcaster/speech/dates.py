"""Dates and times as a Vietnamese listener hears them: "sáng 14-8" is a day and a month, "tháng 4" is tháng tư,
the first ten days are "mùng", "14h30" is hours and minutes; Roman numerals after the words that take them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from broadcaster.speech.numbers import Dialect, read_number


def _roman(n: int) -> str:
    tens, units = divmod(n, 10)
    ones = ["", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"]
    return "X" * tens + ones[units]


ROMAN = {_roman(n): n for n in range(1, 40)}
ROMAN_AFTER = (r"(?i:quý|khóa|khoá|phần|chương|mục|đại hội|thế kỷ|thế kỉ|lần thứ|kỳ họp thứ|kỳ|tập|báo động|chỉ số|"
               r"cấp độ|cấp|giai đoạn|đợt|vùng|loại|hạng|nhóm|khu vực|phụ lục|bài|tiết|thứ)")

MONTHS = {4: "tư"}
DATE_WORDS = (r"(?i:(?:rạng sáng|sáng sớm|chiều tối|tối muộn|đêm muộn|ngày|sáng|trưa|chiều|tối|đêm|khuya|hôm)"
              r"(?: nay| mai| qua| hôm qua)?|sớm (?:nay|mai)|mùng|hạn|đến hết ngày|từ ngày|đến ngày|"
              r"thứ (?:hai|ba|tư|năm|sáu|bảy)|chủ nhật)")
"""Words after which "14-8" or "3.10" is a day and a month, as newspapers write them: the parts of a day, also two
together ("sáng sớm mai 1-8", "chiều tối nay 23-6", "rạng sáng 7-12"), and the days of the week ("thứ Hai (1-8)")."""
HOLIDAY = r"(?i)\b(?:lễ|dịp|tết)\s$"
"""Words before two days that name a holiday ("nghỉ lễ 30/4 - 1/5"), said one after the other."""
HOLIDAY_JOINT = ","
UNIT_WORDS = r"(?:độ|mm|cm|km|m|%|lần|triệu|tỷ|tỉ|nghìn|ngàn|tấn|kg|ha|giờ|ngày|tuổi|mét)"
"""Words after which a dotted "2.5" is a quantity, not a day and a month."""
NUMBERED = (r"(?i:số|nghị định|nghị quyết|quyết định|thông tư|chỉ thị|công văn|kế hoạch|luật|pháp lệnh|thông báo|"
            r"báo cáo|tờ trình|công điện|văn bản|tuần|đợt|kỳ|lần|bản tin)")
"""Words after which "42/2025" is a number of that year, not a month: "số bốn mươi hai năm hai nghìn..."."""
def day(d: int, dialect: Dialect) -> str:
    return ("mùng " if d <= 10 else "") + read_number(d, dialect)


def month(m: int, dialect: Dialect) -> str:
    return MONTHS.get(m) or read_number(m, dialect)


def valid_date(d: int, m: int) -> bool:
    return 1 <= d <= 31 and 1 <= m <= 12


def _unmarked(kind: str, text: str, readings: tuple[str, ...]) -> None:
    """Where nobody collects marks (a shared normalizer)."""


@dataclass(frozen=True)
class Dates:
    dialect: Dialect
    mark: Callable[[str, str, tuple[str, ...]], None] = _unmarked
    """Called where a reading is a guess: (kind, text as written, readings, the chosen one first)."""

    def dates(self, s: str) -> str:
        """Dates and ranges of dates, read by the words around them."""
        d = self.dialect
        date = self.date_or_ratio
        # Two full dates: "15.12.2015 – 5.1.2016".
        s = re.sub(r"\b(\d{1,2}([/.-])\d{1,2}\2\d{4})\s?[-–]\s?(?=\d{1,2}([/.-])\d{1,2}\3\d{4}\b)", r"\1 đến ", s)
        # Days of one month with the month and year written once: "ngày 02-03/03/2026".
        s = re.sub(r"\b(\d{1,2})\s?[-–]\s?(?=\d{1,2}([/.])\d{1,2}\2\d{4}\b)",
                   lambda m: f"{read_number(int(m[1]), d)} đến " if 1 <= int(m[1]) <= 31 else m[0], s)
        # Months: "từ tháng 4 - 5/2012", "tháng 10 - 11".
        s = re.sub(r"(?i)\b(tháng) (\d{1,2})\s?[-–]\s?(\d{1,2})(?:[/.-](\d{4}))?\b(?![/.-]?\d)", self._months, s)
        # Two dates: "từ 02/3-15/4"; after a date word also with dots: "từ ngày 31.8 - 6.9". A holiday named by
        # its two days is no range: "kỳ nghỉ lễ 30/4 - 1/5".
        s = re.sub(r"\b(\d{1,2})/(\d{1,2})\s?[-–]\s?(\d{1,2})/(\d{1,2})(?![\d/])",
                   lambda m: f"{date(m[1], m[2])}{self._joint(m)} {date(m[3], m[4])}", s)
        s = re.sub(r"\b(" + DATE_WORDS + r"|từ) (\d{1,2})\.(\d{1,2})\s?[-–]\s?(\d{1,2})\.(\d{1,2})\b(?![.,]?\d)",
                   lambda m: f"{m[1]} {date(m[2], m[3])} đến {date(m[4], m[5])}" if valid_date(int(m[2]), int(m[3]))
                   and valid_date(int(m[4]), int(m[5])) else m[0], s)
        # A range of days in one month: "15-20/4" -> "15 đến 20/4".
        s = re.sub(r"\b(\d{1,2})\s?[-–]\s?(\d{1,2})/(\d{1,2})\b",
                   lambda m: f"{day(int(m[1]), d) if valid_date(int(m[1]), int(m[3])) else m[1]} đến {m[2]}/{m[3]}", s)
        # Days of one month, the month written once: "từ ngày 17 - 19.9", "ngày 6 và 7-11", "từ 4 đến 7-11".
        s = re.sub(r"\b(" + DATE_WORDS + r"|từ) (\d{1,2})\s?(và|đến|[-–])\s?(\d{1,2})[.-](\d{1,2})\b(?![.,-]?\d)",
                   self._days_of_a_month, s)
        # A list of days: "các ngày 03 và 04/12", "ngày 7,8 tháng 5".
        s = re.sub(r"(?i)\b(ngày )((?:\d{1,2}(?:, ?| và ))+)(?=\d{1,2}[/.-]\d{1,2}\b)",
                   lambda m: m[1] + re.sub(r"\d{1,2}", lambda n: day(int(n[0]), d), m[2]), s)
        s = re.sub(r"(?i)\b(ngày )(\d{1,2}(?:\s?(?:,|và)\s?\d{1,2})+)(?= tháng\b)",
                   lambda m: m[1] + re.sub(r"\d{1,2}", lambda n: day(int(n[0]), d), m[2]), s)
        # A quarter or term with its year: "Quý III/2025", "quý 3-2022".
        s = re.sub(ROMAN_AFTER + r" ([IVX]{1,6})[/-](\d{4})\b", lambda m: f"{m[0][: -len(m[2]) - 1]} năm {m[2]}", s)
        s = re.sub(r"(?i)\b(quý) ([1-4])[/-](\d{4})\b", lambda m: f"{m[1]} {m[2]} năm {m[3]}", s)
        # "ngày 01 tháng 7": the first ten days are "mùng".
        s = re.sub(r"(?i)\b(ngày) 0?(\d{1,2})(?= tháng\b)",
                   lambda m: f"{m[1]} {day(int(m[2]), d)}" if 1 <= int(m[2]) <= 31 else m[0], s)
        # Dates with a year: 7-6-2023, 01/01/2025, 20.9.2024.
        s = re.sub(r"\b(\d{1,2})([/.-])(\d{1,2})\2(\d{4})\b", self._date_with_year, s)
        # A year of two digits, as television captions and forms write it ("10/01/17"): a date where a day or a
        # month has its leading zero or a date word stands before it, the year said as written.
        s = re.sub(r"(?<![\d/.,])(\d{1,2})/(\d{1,2})/(\d{2})\b(?![/.,]?\d)", self._short_year, s)
        # Month and year: "tháng 9/2024", "tháng 7-2023", "tháng 10.2024".
        s = re.sub(r"(?i)\b(tháng) (\d{1,2})[/.-](\d{4})\b",
                   lambda m: f"{m[1]} {month(int(m[2]), d)} năm {read_number(int(m[3]), d)}", s)
        # A number of a year: "số 50/2020", "tuần 43/2022", "đợt 2/2025", "Thông tư 38/2011"; a bare "12/2015"
        # or "10-2019" is a month.
        s = re.sub(r"\b(" + NUMBERED + r") (\d{1,4})/(\d{4})\b(?![/-]\d)",
                   lambda m: f"{m[1]} {read_number(int(m[2]), d)} năm {read_number(int(m[3]), d)}", s)
        s = re.sub(r"(?<![\d/.,])(?<!tỷ lệ )(?<!tỉ lệ )(\d{1,2})[/-]((?:19[4-9]|20\d)\d)\b(?![/-]\d)",
                   self._month_or_number, s)
        # Newspaper dates after a date word: "sáng 14-8", "ngày 3.10" (a range of days is "7-8 tháng 5"), or
        # opening a line: "Đến 15-6 cả nước...".
        s = re.sub(r"\b(" + DATE_WORDS + r"),? (\d{1,2})[.-](\d{1,2})\b(?![.,-]?\d)(?! tháng)",
                   lambda m: f"{m[1]} {date(m[2], m[3])}" if valid_date(int(m[2]), int(m[3])) else m[0], s)
        # With a dot also within a line: "xuống giống từ 25.11 đến 15.12" (not before a unit: "từ 2.5 độ").
        s = re.sub(r"(?i)\b(đến|tới|từ|trước|sau|tính đến) (\d{1,2})\.(\d{1,2})\b(?![.,-]?\d)"
                   r"(?! ?(?:tháng|" + UNIT_WORDS + r")\b)",
                   lambda m: f"{m[1]} {date(m[2], m[3])}" if valid_date(int(m[2]), int(m[3])) else m[0], s)
        s = re.sub(r"(?im)^(đến|tới|từ|trước|sau|tính đến) (\d{1,2})[.-](\d{1,2})\b(?![.,-]?\d)(?! tháng)",
                   lambda m: f"{m[1]} {date(m[2], m[3])}" if valid_date(int(m[2]), int(m[3])) else m[0], s)
        # A month by its name: "tháng 4" is "tháng tư".
        return re.sub(r"(?i)\b(tháng) (\d{1,2})\b(?![.,/-]?\d)",
                      lambda m: f"{m[1]} {month(int(m[2]), d)}" if 1 <= int(m[2]) <= 12 else m[0], s)

    def times(self, s: str) -> str:
        """14h30, 7h, 8h5, 6g-8g, 14:01, 14:30:15, "trong 48h", "24/24h"."""
        s = re.sub(r"(?<![\d/])24/24(h|giờ)?\b", lambda m: "hai mươi tư trên hai mươi tư" + (" giờ" if m[1] else ""), s)
        s = re.sub(r"\b([01]?\d|2[0-3]):([0-5]\d):([0-5]\d)\b",
                   lambda m: f"{self._time(m)} {read_number(int(m[3]), self.dialect)} giây", s)
        s = re.sub(r"\b(\d{1,2}[hg:](?:\d{2})?)\s?[-–]\s?(?=\d{1,2}[hg:](?:\d{2})?(?!\w))", r"\1 đến ", s)
        # The hour written once after a range: "khung giờ 11-14h" is "mười một đến mười bốn giờ".
        s = re.sub(r"(?<![\d.,/:])([01]?\d|2[0-4])\s?[-–]\s?(?=(?:[01]?\d|2[0-4])[hg](?!\w))",
                   lambda m: f"{read_number(int(m[1]), self.dialect)} đến ", s)
        s = re.sub(r"\b([01]?\d|2[0-3]) giờ 00 phút\b", r"\1 giờ", s)  # "08 giờ 00 phút" is tám giờ
        s = re.sub(r"\b([01]?\d|2[0-3])[hg](?:([0-5]?\d)(?:p|'| ?phút\b)?)?(?![\w/])", self._time, s)
        s = re.sub(r"(?<![\d.,])(\d{1,3})h(?![\w/])", lambda m: f"{read_number(int(m[1]), self.dialect)} giờ", s)
        return re.sub(r"\b([01]?\d|2[0-3]):([0-5]\d)\b(?!:)", self._time, s)

    def date_or_ratio(self, first: str, second: str) -> str:
        """"3/12": the third of December when it can be a date, else three out of twelve."""
        a, b = int(first), int(second)
        if valid_date(a, b):
            return f"{day(a, self.dialect)} tháng {month(b, self.dialect)}"
        return f"{read_number(a, self.dialect)} trên {read_number(b, self.dialect)}"

    def _joint(self, m: re.Match[str]) -> str:
        return HOLIDAY_JOINT if re.search(HOLIDAY, m.string[:m.start()]) else " đến"

    def _month_or_number(self, m: re.Match[str]) -> str:
        """A bare "12/2015": a month of that year when it can be one ("đến 12/2015"), marked unless "từ", "đến"
        or "tháng" says so; else a number of that year."""
        number = f"{read_number(int(m[1]), self.dialect)} năm {read_number(int(m[2]), self.dialect)}"
        if not 1 <= int(m[1]) <= 12:
            return number
        reading = f"tháng {month(int(m[1]), self.dialect)} năm {read_number(int(m[2]), self.dialect)}"
        if not re.search(r"(?i)\b(?:từ|đến|tới|trước|sau|cuối|đầu|giữa|hết|tháng)\s$", m.string[:m.start()]):
            self.mark("month_or_number", m[0], (reading, number))
        return reading

    def _months(self, m: re.Match[str]) -> str:
        first, last = int(m[2]), int(m[3])
        if not (1 <= first <= 12 and 1 <= last <= 12):
            return m[0]
        year = f" năm {read_number(int(m[4]), self.dialect)}" if m[4] else ""
        return f"{m[1]} {month(first, self.dialect)} đến tháng {month(last, self.dialect)}{year}"

    def _date_with_year(self, m: re.Match[str]) -> str:
        d, mo, y = int(m[1]), int(m[3]), int(m[4])
        if not valid_date(d, mo):
            return m[0]
        return f"{day(d, self.dialect)} tháng {month(mo, self.dialect)} năm {read_number(y, self.dialect)}"

    def _short_year(self, m: re.Match[str]) -> str:
        d, mo = int(m[1]), int(m[2])
        padded = m[1].startswith("0") or m[2].startswith("0")
        if not valid_date(d, mo) or not (padded or re.search(DATE_WORDS + r"\s$", m.string[:m.start()])):
            return m[0]
        return f"{day(d, self.dialect)} tháng {month(mo, self.dialect)} năm {read_number(int(m[3]), self.dialect)}"

    def _days_of_a_month(self, m: re.Match[str]) -> str:
        first, last, month = int(m[2]), int(m[4]), int(m[5])
        if not (valid_date(first, month) and valid_date(last, month)):
            return m[0]
        joint = "và" if m[3] == "và" else "đến"
        return f"{m[1]} {day(first, self.dialect)} {joint} {self.date_or_ratio(m[4], m[5])}"

    def _time(self, m: re.Match[str]) -> str:
        hours = f"{read_number(int(m[1]), self.dialect)} giờ"
        minutes = int(m[2]) if m[2] else 0
        return hours + (f" {read_number(minutes, self.dialect)} phút" if minutes else "")
