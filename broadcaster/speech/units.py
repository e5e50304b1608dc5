"""Numbers with their units, per-unit rates and symbols: "12.500 đồng/kg", "1,93 triệu ha", "30°C", "4,7‰",
"10.200CV", "> 120 mm" (trên), "< 2 tuổi" (dưới), "15 x 20cm" (nhân)."""

from __future__ import annotations

import re
from collections.abc import Callable

UNITS = {
    "km2": "ki lô mét vuông", "km²": "ki lô mét vuông", "m2": "mét vuông", "m²": "mét vuông",
    "m3/s": "mét khối trên giây", "m³/s": "mét khối trên giây", "m/s": "mét trên giây",
    "mm/h": "mi li mét trên giờ", "mmHg": "mi li mét thủy ngân",
    "m3": "mét khối", "m³": "mét khối", "km/h": "ki lô mét trên giờ", "km": "ki lô mét",
    "cm": "xen ti mét", "mm": "mi li mét", "m": "mét", "kg": "ki lô gam", "g": "gam", "ha": "héc ta",
    "tấn": "tấn", "lít": "lít", "l": "lít", "ml": "mi li lít", "°C": "độ xê", "độ C": "độ xê", "oC": "độ xê",
    "%": "phần trăm", "‰": "phần nghìn", "đ": "đồng", "VNĐ": "việt nam đồng", "VND": "việt nam đồng",
    "USD": "đô la mỹ", "kWh": "ki lô oát giờ", "MW": "mê ga oát", "kW": "ki lô oát", "kV": "ki lô vôn",
    "V": "vôn", "GB": "gi ga bai", "MB": "mê ga bai", "Mbps": "mê ga bít trên giây", "G": "gờ",
    "hPa": "héc tô pát xcan", "mg": "mi li gam", "CV": "mã lực", "feet": "phít",
    "°N": "độ vĩ bắc", "°S": "độ vĩ nam", "°E": "độ kinh đông", "°W": "độ kinh tây", "°": "độ",
}
UNIT_RE = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
SCALE = r"(?:triệu|nghìn|ngàn|tỷ|tỉ|trăm)"
"""Scale words between a number and its unit: "1,93 triệu ha" is one point nine three million hectares."""
SYMBOLS = {"≥": " lớn hơn hoặc bằng ", "≤": " nhỏ hơn hoặc bằng ", "=": " bằng ", "±": " cộng trừ ",
           "→": " đến ", "÷": " chia "}


def read_units(s: str, number: Callable[[str], str]) -> str:
    """Symbols, comparisons and every number followed by a unit; ``number`` reads the digits."""
    s = re.sub(r"\s?(?:=>|->|⇒)\s?", " ", s)  # an arrow that leads to a conclusion is not read
    for symbol, words in SYMBOLS.items():
        s = s.replace(symbol, words)
    s = re.sub(r"(?<=\d)((?:\s?(?:m|cm|mm|km))?)\s?[x×]\s?(?=\d)", r"\1 nhân ", s)  # "2,5m x 10m", "15 x 20cm"
    s = re.sub(r"(?<=\d)\s?>\s?(?=\d)", " lớn hơn ", s)  # between two numbers: a comparison
    s = re.sub(r"(?<=\d)\s?<\s?(?=\d)", " nhỏ hơn ", s)
    s = re.sub(r"(?<![\w\d])\s?>\s?(?=\d)", " trên ", s)  # "> 120 mm": more than, as bulletins say it
    s = re.sub(r"(?<![\w\d])\s?<\s?(?=\d)", " dưới ", s)
    s = re.sub(r"(?<!\w)~\s?(?=\d)", " khoảng ", s)
    s = re.sub(r"(?<=\w) mmHg\b", " " + UNITS["mmHg"], s)  # after a pressure already read: "120/80 mmHg"
    s = re.sub(r"%\s?/\s?(?=[^\W\d_])", "% trên ", s)  # "lãi suất 6,5%/năm"
    s = re.sub(r"(\d[\d.,]*)\s?(?:(" + SCALE + r")\s)?(" + UNIT_RE + r")(?![\w²³])",
               lambda m: f"{number(m[1].rstrip('.,'))}{' ' + m[2] if m[2] else ''} {UNITS[m[3]]}", s)
    return re.sub(r"/\s?(" + UNIT_RE + r")(?![\w²³])", lambda m: " trên " + UNITS[m[1]], s)
