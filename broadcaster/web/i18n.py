"""Languages of the pages: Vietnamese (the source text, and the default) and English. The choice is the
officer's (the link in the header), kept in the session; a browser's own language does not switch it, since
many phones here are set to English by whoever sold them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, session
from flask_babel import Babel, get_locale, gettext

LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
DEFAULT = "vi"


def select_locale() -> str:
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else DEFAULT


def init(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_locale=DEFAULT,
          default_translation_directories=str(Path(__file__).parent / "translations"))

    @app.context_processor
    def language_globals() -> dict[str, Any]:
        return {"LANGUAGES": LANGUAGES, "current_language": str(get_locale() or DEFAULT), "js_text": js_text}


def js_text() -> dict[str, str]:
    """What the pages' scripts say, in the page's language (read by them from the #i18n element)."""
    from broadcaster.web.pages.base import STATE_LABELS

    return {
        "online": gettext("trực tuyến"), "offline": gettext("mất kết nối"), "playing": gettext("đang phát"),
        "failed": gettext("lỗi"), "on": gettext("bật"), "off": gettext("tắt"), "switched_off": gettext("đã tắt"),
        "no_alarms": gettext("Không có cảnh báo."), "cleared": gettext("(đã hết)"), "ack": gettext("Đã biết"),
        "emergency_reach": gettext("khẩn cấp gần nhất: %(played)s/%(sent)s cụm đã phát"),
        "live": gettext("trực tiếp"), "pending": gettext("(chờ loa xác nhận)"),
        "reconnecting": gettext("mất kết nối, đang thử lại…"),
        "missed_word": gettext("Máy chưa nghe rõ từ này"), "rendering": gettext("Đang tạo âm thanh…"),
        "render_failed": gettext("Không tạo được âm thanh."),
        "will_air": gettext("Bản đọc sẽ phát (%(seconds)s giây)"),
        "read_by": gettext("đọc bằng giọng %(voice)s"),
        "voice_fallback": gettext(" (giọng đã chọn không dùng được trên máy chủ, nên dùng giọng này)"),
        "robotic_voice": gettext("Đây là giọng máy (espeak-ng): người nghe khó hiểu. Để có giọng đọc tự nhiên, "
                                 "người quản trị máy chủ chạy lệnh: broadcaster voices fetch piper vais1000"),
        "heard_well": gettext("Máy nghe thử hiểu rõ bản đọc."),
        "listen_again": gettext("Máy nghe thử chưa rõ vài chỗ (tô màu bên dưới: %(words)s). Hãy nghe lại những "
                                "chỗ đó; nếu đọc sai, sửa chữ viết hoặc thêm vào từ điển của xã."),
        "reads_in": gettext("Đọc mất khoảng %(length)s."),
        "too_long": gettext("Đọc mất khoảng %(length)s: dài quá %(most)s phút. Hãy chia thành vài bản tin."),
        "minutes_seconds": gettext("%(minutes)s phút %(seconds)s giây"),
        "seconds": gettext("%(seconds)s giây"),
        "not_checked": gettext("Chưa kiểm tra nghe: %(problem)s"),
        "server_lost": gettext("Mất kết nối tới máy chủ; hãy thử lại."),
        "checking": gettext("Đang kiểm tra…"), "not_allowed": gettext("Không được phát: %(line)s"),
        "overlap": gettext("Trùng giờ: %(line)s"),
        "allowed": gettext("Được phép phát trên %(count)s cụm loa; không trùng với lượt nào."),
        "unsure": gettext("Máy chưa chắc cách đọc “%(text)s”. Chọn cách đúng để lưu vào từ điển của xã:"),
        "saved": gettext("Đã lưu vào từ điển của xã: “%(text)s” đọc là “%(reading)s”."),
        "save_failed": gettext("Không lưu được vào từ điển của xã."),
        "live_https": gettext("Trình duyệt chỉ cho dùng micrô trên trang an toàn (https://): hãy mở trang bằng "
                              "địa chỉ https của đài."),
        "live_browser": gettext("Trình duyệt này không mã hóa được âm thanh; hãy dùng Chrome, Edge, Firefox hoặc "
                                "Safari bản mới."),
        "live_no_microphone": gettext("Không mở được micrô: hãy cho phép trang dùng micrô rồi bấm lại."),
        "live_failed": gettext("Không bắt đầu được buổi phát trực tiếp."),
        "live_connecting": gettext("Đang kết nối…"),
        "live_on_air": gettext("ĐANG PHÁT TRỰC TIẾP: hãy nói."),
        "live_ended": gettext("Đã dừng phát trực tiếp."),
        "live_lost": gettext("Mất kết nối tới máy chủ: buổi phát đã dừng."),
        "live_playing": gettext("%(n)s trên %(total)s cụm loa đang phát"),
        "fill_this": gettext("Hãy điền mục này."), "choose_one": gettext("Hãy chọn một mục trong danh sách."),
        "check_this": gettext("Hãy đánh dấu ô này nếu muốn tiếp tục."), "choose_file": gettext("Hãy chọn một tệp."),
        "a_number": gettext("Hãy nhập một số."), "at_least": gettext("Giá trị phải từ %(min)s trở lên."),
        "at_most": gettext("Giá trị tối đa là %(max)s."), "whole_number": gettext("Hãy nhập số nguyên."),
        "too_short": gettext("Hãy nhập ít nhất %(n)s ký tự."), "too_long_field": gettext("Tối đa %(n)s ký tự."),
        "wrong_format": gettext("Chưa đúng dạng: %(format)s."),
        **{f"state_{state}": str(label) for state, label in STATE_LABELS.items()},
    }
