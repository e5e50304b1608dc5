"""Words the rules, the receivers and the audit log store in English (they are also what the API and the wire
carry), said to an officer in the page's language: every refusal by its code (and field), the texts stored
with a broadcast, a delivery or an alarm ("stopped by an", "the cluster was switched off by the operator"),
and each audit entry as a sentence. Old rows read the same way: nothing stored changes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from broadcaster.web import conventions

REFUSAL_WORDS: dict[Any, Any] = {
    ("missing_field", "comment"): _l("Hãy ghi lý do trả lại để người viết biết cần sửa gì."),
    ("missing_field", "username"): _l("Tên đăng nhập phải dài từ 2 đến 80 ký tự."),
    ("missing_field", "name"): _l("Hãy nhập tên."),
    ("missing_field", "word"): _l("Hãy nhập cả từ và cách đọc."),
    ("missing_field", "reading"): _l("Hãy nhập cả từ và cách đọc."),
    ("missing_field", "audio"): _l("Hãy chọn tệp ghi âm."),
    ("missing_field", "url"): _l("Hãy nhập địa chỉ."),
    ("missing_field", None): _l("Chưa có gì để thay đổi."),
    ("too_long", "comment"): _l("Lý do trả lại quá dài (tối đa 2000 ký tự)."),
    "missing_field": _l("Hãy điền mục còn trống."),
    "too_long": _l("Nội dung quá dài."),
    "invalid_time": _l("Ngày giờ chưa đúng dạng: hãy gõ ngày/tháng/năm giờ:phút theo 24 giờ, ví dụ "
                       "02/12/2026 21:43."),
    "invalid_date": _l("Ngày chưa đúng dạng: hãy gõ ngày/tháng/năm, ví dụ 02/12/2026."),
    "invalid_period": _l("Khoảng thời gian chưa đúng: hãy gõ ngày dạng ngày/tháng/năm (ví dụ 02/12/2026), ngày "
                         "cuối không trước ngày đầu, tối đa 366 ngày."),
    "not_found": _l("Không tìm thấy mục này (có thể đã bị xóa hoặc ở ngoài địa bàn của bạn)."),
    "not_stoppable": _l("Lượt phát này đã kết thúc hoặc đã dừng; không còn gì để dừng."),
    "invalid_volume": _l("Âm lượng phải là số nguyên từ 0 đến 100."),
    "invalid_power": _l("Yêu cầu bật/tắt không hợp lệ."),
    "invalid_rule": _l("Khung giờ phải dạng giờ:phút (24 giờ), giờ kết thúc sau giờ bắt đầu trong cùng ngày; số "
                       "phút và số lần phải là số nguyên dương hoặc để trống (không giới hạn)."),
    "invalid_position": _l("Tọa độ không hợp lệ."),
    "invalid_kind": _l("Cấp địa bàn không hợp lệ hoặc không thể nằm dưới địa bàn đã chọn."),
    "unknown_area": _l("Hãy chọn một địa bàn của bạn."),
    "duplicate_area": _l("Địa bàn này đã có ở đó."),
    "invalid_devices": _l("Hãy chọn ít nhất một cụm loa cho nhóm."),
    "invalid_roles": _l("Hãy chọn ít nhất một vai trò."),
    "invalid_areas": _l("Mỗi người dùng (trừ quản trị) phải làm việc ở ít nhất một địa bàn."),
    "weak_password": _l("Mật khẩu phải dài từ 10 đến 200 ký tự."),
    "duplicate_user": _l("Tên đăng nhập này đã có người dùng."),
    "own_admin": _l("Bạn không thể tự bỏ quyền quản trị của mình."),
    "not_text": _l("Bản ghi âm được phát đúng như đã ghi; không sửa được như văn bản."),
    "invalid_language": _l("Mã ngôn ngữ không hợp lệ (ví dụ: vi, hmn, tay, km)."),
    "invalid_reading": _l("Cách đọc phải viết bằng chữ, không có chữ số."),
    "duplicate_word": _l("Từ này đã có trong từ điển."),
    "invalid_type": _l("Nội dung không hợp lệ."),
    "invalid_length": _l("Thời lượng tối đa không hợp lệ."),
    "already_live": _l("Một buổi phát trực tiếp khác đang phát trên các cụm loa này; hãy dừng nó trước."),
    "not_live": _l("Đây không phải buổi phát trực tiếp."),
    "invalid_state": _l("Trạng thái không hợp lệ."),
    "bad_login": _l("Sai tên đăng nhập hoặc mật khẩu."),
    "integration_account": _l("Tài khoản này dành cho hệ thống khác đọc dữ liệu qua API, không đăng nhập vào "
                              "trang."),
    "locked": _l("Tài khoản tạm khóa vì nhập sai mật khẩu nhiều lần; hãy thử lại sau hoặc nhờ quản trị mở khóa."),
    "throttled": _l("Quá nhiều lần đăng nhập sai từ địa chỉ này; hãy thử lại sau."),
}
"""Every refusal the rules give, in words an officer reads; a page's own table goes first."""

GENERIC_REFUSAL = _l("Không thực hiện được yêu cầu này.")


def refusal_words(code: str, field: str | None, table: Any) -> str | None:
    for source, key in ((table, (code, field)), (REFUSAL_WORDS, (code, field)), (table, code),
                        (REFUSAL_WORDS, code)):
        if key in source:
            return str(source[key])
    return None


# Texts stored in English by the rules, the worker and the receivers (old rows and new), as patterns.
_Said = Callable[[re.Match[str]], str]


def _state(name: str) -> str:
    from broadcaster.web.pages.base import STATE_LABELS

    return str(STATE_LABELS.get(name, name))


def _when(text: str) -> str:
    from broadcaster.web.pages.base import zone

    moment = datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    return conventions.moment(moment, zone())


SAID: list[tuple[re.Pattern[str], _Said]] = [(re.compile(pattern, re.S), words) for pattern, words in [
    (r"stopped by the operator", lambda m: gettext("người vận hành đã dừng phát")),
    (r"stopped by an operator", lambda m: gettext("người vận hành đã dừng phát")),
    (r"stopped by the operator before it played", lambda m: gettext("đã dừng trước khi phát")),
    (r"stopped by the operator: no further occurrences",
     lambda m: gettext("đã dừng: không phát các lần sau")),
    (r"stopped by the operator while paused for a more urgent item",
     lambda m: gettext("đã dừng khi đang nhường cho lượt phát khẩn hơn")),
    (r"stopped by (?P<user>\S+) before the microphone connected",
     lambda m: gettext("%(user)s đã dừng trước khi micrô kết nối", user=m["user"])),
    (r"stopped by (?P<user>\S+)", lambda m: gettext("%(user)s đã dừng phát", user=m["user"])),
    (r"the cluster was switched off by the operator", lambda m: gettext("cụm loa đã bị tắt")),
    (r"interrupted: the receiver restarted during playback",
     lambda m: gettext("bị ngắt: máy thu khởi động lại khi đang phát")),
    (r"interrupted: the receiver was stopped", lambda m: gettext("bị ngắt: máy thu bị tắt")),
    (r"interrupted", lambda m: gettext("bị ngắt")),
    (r"none of the live audio came here", lambda m: gettext("không nhận được âm thanh trực tiếp nào")),
    (r"the rest of its window went to a more urgent broadcast",
     lambda m: gettext("phần thời gian còn lại nhường cho lượt phát khẩn hơn")),
    (r"too late to play", lambda m: gettext("quá giờ phát")),
    (r"audio did not arrive in time", lambda m: gettext("âm thanh không về kịp giờ phát")),
    (r"no report from the device by the deadline", lambda m: gettext("cụm loa không báo lại trước hạn")),
    (r"stream failed \((?P<why>.*)\); the fallback item played instead",
     lambda m: gettext("luồng tiếp sóng lỗi; đã phát bản tin thay thế")),
    (r"the microphone did not connect in time", lambda m: gettext("micrô không kết nối kịp")),
    (r"the server restarted during the session", lambda m: gettext("máy chủ khởi động lại trong buổi phát")),
    (r"the bulletin was changed after approval and awaits approval again",
     lambda m: gettext("bản tin bị sửa sau khi duyệt và đang chờ duyệt lại")),
    (r"(?P<priority>\w+): sent without separate approval",
     lambda m: gettext("%(priority)s: phát ngay, không qua bước duyệt riêng", priority=_priority(m["priority"]))),
    (r"(?P<priority>\w+): CAP alert's recording, sent without separate approval",
     lambda m: gettext("%(priority)s: bản ghi âm của cảnh báo CAP, phát ngay, không qua bước duyệt riêng",
                       priority=_priority(m["priority"]))),
    (r"no word from (?P<name>.+) since (?P<when>\d{4}-\d{2}-\d{2} \d{2}:\d{2}) UTC",
     lambda m: gettext("không nhận được tin từ %(name)s từ %(when)s", name=m["name"], when=_when(m["when"]))),
    (r"no word from (?P<name>.+) ever", lambda m: gettext("chưa từng nhận được tin từ %(name)s", name=m["name"])),
    (r"the clock is (?P<skew>[+-]?\d+) s off the server's.*",
     lambda m: gettext("đồng hồ lệch %(skew)s giây so với máy chủ: sẽ phát sai giờ (hãy kiểm tra NTP trên máy thu)",
                       skew=m["skew"])),
    (r"refused a message on (?P<topic>\S+): (?P<reason>.+)",
     lambda m: gettext("đã từ chối một tin trên %(topic)s (%(reason)s)", topic=m["topic"], reason=m["reason"])),
    (r"broadcast (?P<id>\d+) '(?P<title>.*)' (?P<state>failed|missed): (?P<error>.*)",
     lambda m: gettext("lượt phát #%(id)s “%(title)s” %(state)s: %(error)s", id=m["id"], title=m["title"],
                       state=_state(m["state"]), error=said_text(m["error"]))),
    (r"no reason given", lambda m: gettext("không rõ lý do")),
]]


def _priority(name: str) -> str:
    from broadcaster.web.pages.base import PRIORITY_LABELS

    return str(PRIORITY_LABELS.get(name, name))


def said_text(text: str | None) -> str | None:
    """A stored English text in the page's language, or None when it is not one we know."""
    if not text:
        return ""
    if conventions.english():
        return text
    for pattern, words in SAID:
        found = pattern.fullmatch(text.strip())
        if found:
            return words(found)
    return None


def said(text: str | None, own: bool = False) -> Markup:
    """For a page: the text in Vietnamese; one we do not know (a receiver's own error) is folded away under
    "chi tiết kỹ thuật", so no English sentence stands on a Vietnamese page. ``own``: the text may be an
    officer's own words (a review comment), shown as they are when they are not one of ours."""
    known = said_text(text)
    if known is not None:
        return Markup(escape(known))
    if own:
        return Markup(escape(text))
    return Markup('<details class="technical"><summary>{}</summary><span lang="en">{}</span></details>').format(
        gettext("chi tiết kỹ thuật"), text)


ACTION_LABELS = {
    "login": _l("Đăng nhập"), "login.failed": _l("Đăng nhập sai"), "login.locked": _l("Đăng nhập khi đang bị khóa"),
    "login.lockout": _l("Khóa tài khoản vì sai mật khẩu"), "token.create": _l("Tạo khóa API"),
    "token.delete": _l("Xóa khóa API"), "user.create": _l("Tạo người dùng"), "user.update": _l("Sửa người dùng"),
    "bulletin.create": _l("Viết bản tin"), "bulletin.edit": _l("Sửa bản tin"), "bulletin.submit": _l("Gửi duyệt"),
    "bulletin.reject": _l("Trả lại bản tin"), "bulletin.approve": _l("Duyệt bản tin"),
    "lexicon.add": _l("Thêm vào từ điển"), "lexicon.change": _l("Sửa từ điển"),
    "lexicon.delete": _l("Xóa khỏi từ điển"),
    "broadcast.create": _l("Lên lịch phát"), "programme.create": _l("Lên chương trình"),
    "broadcast.stop": _l("Dừng phát"), "emergency.send": _l("Phát khẩn cấp"), "alert.send": _l("Phát cảnh báo"),
    "live.start": _l("Bắt đầu phát trực tiếp"), "live.stop": _l("Dừng phát trực tiếp"),
    "alarm.ack": _l("Xác nhận cảnh báo"), "device.volume": _l("Đặt âm lượng"), "device.power": _l("Bật/tắt cụm loa"),
    "device.position": _l("Đặt tọa độ cụm loa"), "airtime.set": _l("Đặt khung giờ phát"),
    "area.create": _l("Tạo địa bàn"), "area.voice": _l("Chọn giọng đọc của địa bàn"),
    "area.outline": _l("Đặt ranh giới địa bàn"), "group.save": _l("Lưu nhóm cụm loa"),
    "cap.issuer": _l("Sửa nơi phát CAP"), "cap.feed.add": _l("Thêm nguồn CAP"), "cap.feed.remove": _l("Bỏ nguồn CAP"),
    "cap.geocode.add": _l("Gắn mã vùng CAP"), "cap.geocode.remove": _l("Bỏ mã vùng CAP"),
    "cap.mapping": _l("Sửa bảng mức ưu tiên CAP"), "cap.released": _l("Cho phát cảnh báo CAP"),
    "cap.aired": _l("Cảnh báo CAP: đã phát"), "cap.waiting": _l("Cảnh báo CAP: chờ giờ phát"),
    "cap.held": _l("Cảnh báo CAP: đang giữ"), "cap.recorded": _l("Cảnh báo CAP: chỉ ghi nhận"),
    "cap.stopped": _l("Cảnh báo CAP: đã dừng"), "cap.cancelled": _l("Cảnh báo CAP: đã hủy"),
    "cap.duplicate": _l("Cảnh báo CAP: đã nhận trước đó"),
}
"""What each audit action is called on the page (the API keeps the codes)."""

TARGET_WORDS = {"bulletin": _l("bản tin #%(n)s"), "broadcast": _l("lượt phát #%(n)s"),
                "programme": _l("chương trình #%(n)s"), "token": _l("khóa API #%(n)s"), "alarm": _l("cảnh báo #%(n)s"),
                "area": _l("địa bàn #%(n)s"), "group": _l("nhóm #%(n)s")}


def audit_action(action: str) -> str:
    return action if conventions.english() else str(ACTION_LABELS.get(action, action))


def audit_target(target: str | None) -> str:
    if not target:
        return ""
    found = re.fullmatch(r"(\w+) (\d+)", target)
    if found and found[1] in TARGET_WORDS and not conventions.english():
        return str(TARGET_WORDS[found[1]]) % {"n": found[2]}
    return target


def _limit(value: str, words: str) -> str:
    return gettext("không giới hạn") if value == "None" else words % {"n": value}


def _roles(text: str) -> str:
    from broadcaster.web.pages.base import ROLE_LABELS

    return ", ".join(str(ROLE_LABELS.get(r.strip(), r.strip())) for r in text.split(",") if r.strip())


SENT = r"(?P<title>.*); (?P<count>\d+) play\(s\) every (?P<every>\d+) min; broadcasts \[(?P<ids>.*)\]"


def _sent(m: re.Match[str]) -> str:
    return gettext("%(title)s; %(count)s lần, cách nhau %(every)s phút; lượt phát %(ids)s", title=m["title"],
                   count=m["count"], every=m["every"], ids=_areas(m["ids"]))


def _areas(text: str) -> str:
    ids = re.findall(r"\d+", text)
    return ", ".join(f"#{i}" for i in ids) if ids else gettext("không có")


AUDIT_DETAILS: list[tuple[str, re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (action, re.compile(pattern, re.S), words) for action, pattern, words in [
        ("login.failed", r"unknown user", lambda m: gettext("không có người dùng này")),
        ("login.failed", r"integration account", lambda m: gettext("tài khoản của hệ thống khác (chỉ dùng API)")),
        ("login.lockout", r"locked for (?P<h>\d+):(?P<m>\d+):\d+",
         lambda m: gettext("khóa %(n)s phút", n=int(m["h"]) * 60 + int(m["m"]))),
        ("user.create", r"roles (?P<roles>.*); areas (?P<areas>.*)",
         lambda m: gettext("vai trò: %(roles)s; địa bàn: %(areas)s", roles=_roles(m["roles"]),
                           areas=_areas(m["areas"]))),
        ("user.update", r"(?P<all>.*)", lambda m: "; ".join(_user_change(c) for c in m["all"].split("; "))),
        ("bulletin.edit", r"(?P<all>.*)", lambda m: ", ".join(
            str({"title": _l("tiêu đề"), "text": _l("nội dung"), "voice": _l("giọng đọc"), "speed": _l("tốc độ đọc")
                 }.get(c.strip(), c.strip())) for c in m["all"].split(","))),
        ("bulletin.create", r"recording in (?P<lang>[\w-]+): (?P<title>.*)",
         lambda m: gettext("bản ghi âm (%(language)s): %(title)s", language=m["lang"], title=m["title"])),
        ("broadcast.create", r"(?P<priority>\w+) '(?P<title>.*)' to (?P<n>\d+) device\(s\)",
         lambda m: gettext("%(priority)s “%(title)s” tới %(n)s cụm loa", priority=_priority(m["priority"]),
                           title=m["title"], n=m["n"])),
        ("programme.create", r"(?P<title>.*): broadcasts \[(?P<ids>.*)\]",
         lambda m: gettext("%(title)s: lượt phát %(ids)s", title=m["title"], ids=_areas(m["ids"]))),
        ("emergency.send", SENT, lambda m: _sent(m)),
        ("alert.send", SENT, lambda m: _sent(m)),
        ("live.start", r"(?P<priority>\w+), up to (?P<minutes>\d+) min, to (?P<n>\d+) cluster\(s\): (?P<targets>.*)",
         lambda m: gettext("%(priority)s, tối đa %(minutes)s phút, tới %(n)s cụm loa: %(targets)s",
                           priority=_priority(m["priority"]), minutes=m["minutes"], n=m["n"], targets=m["targets"])),
        ("alarm.ack", r"(?P<device>[^:]+): (?P<message>.*)",
         lambda m: f"{m['device']}: {said_text(m['message']) or gettext('chi tiết kỹ thuật')}"),
        ("device.volume", r"(?P<n>\d+)%", lambda m: gettext("âm lượng %(n)s%%", n=m["n"])),
        ("device.power", r"on", lambda m: gettext("bật")),
        ("device.power", r"off", lambda m: gettext("tắt")),
        ("airtime.set", r"(?P<start>[\d:]+)-(?P<end>[\d:]+), (?P<minutes>\w+) min, (?P<count>\w+)/day",
         lambda m: gettext("từ %(start)s đến %(end)s; mỗi lần: %(minutes)s; mỗi ngày: %(count)s", start=m["start"],
                           end=m["end"], minutes=_limit(m["minutes"], gettext("tối đa %(n)s phút")),
                           count=_limit(m["count"], gettext("tối đa %(n)s lần")))),
        ("area.create", r"(?P<kind>\w+)", lambda m: _kind(m["kind"])),
        ("area.voice", r"default", lambda m: gettext("giọng mặc định")),
        ("area.outline", r"removed", lambda m: gettext("đã bỏ ranh giới")),
        ("area.outline", r"(?P<rings>\d+) ring\(s\), (?P<points>\d+) points",
         lambda m: gettext("%(rings)s vùng, %(points)s điểm", rings=m["rings"], points=m["points"])),
        ("cap.geocode.add", r"area (?P<id>\d+)", lambda m: gettext("địa bàn #%(n)s", n=m["id"])),
        ("cap.geocode.remove", r"area (?P<id>\d+)", lambda m: gettext("địa bàn #%(n)s", n=m["id"])),
        ("cap.mapping", r"default", lambda m: gettext("bảng mặc định")),
    ]]
"""Details of the audit entries whose words the rules wrote (titles, names and comments are the officers' own
and shown as they are)."""

OWN_WORDS = {"bulletin.create", "bulletin.reject", "bulletin.approve", "token.create", "token.delete", "lexicon.add",
             "lexicon.change", "lexicon.delete", "area.voice", "group.save", "device.position", "cap.feed.add",
             "cap.feed.remove"}


def _kind(kind: str) -> str:
    from broadcaster.web.pages.base import AREA_LABELS

    return str(AREA_LABELS.get(kind, kind))


def _user_change(change: str) -> str:
    if change.startswith("roles "):
        return gettext("vai trò: %(roles)s", roles=_roles(change[6:]))
    if change.startswith("areas "):
        return gettext("địa bàn: %(areas)s", areas=_areas(change[6:]))
    return {"password": gettext("đổi mật khẩu"), "unlocked": gettext("mở khóa")}.get(change, change)


def audit_detail(action: str, detail: str | None) -> Markup:
    """An audit entry's detail as a sentence; "None" never shows."""
    if not detail or detail == "None":
        return Markup("")
    if conventions.english():
        return Markup(escape(detail))
    for wanted, pattern, words in AUDIT_DETAILS:
        found = pattern.fullmatch(detail) if wanted == action else None
        if found:
            return Markup(escape(words(found)))
    if action in OWN_WORDS:
        return Markup(escape(detail))
    return said(detail)


def said_events(events: Iterable[Any]) -> Iterator[str]:
    """An event stream (the dashboard's, a broadcast's) with ``said`` added to each alarm and each cluster's
    row: its stored text in the page's language, as HTML the page may insert (escaped, details folded)."""
    for event in events:
        text = event.decode() if isinstance(event, bytes) else str(event)
        if text.startswith("event: alarms\ndata: "):
            alarms = json.loads(text[len("event: alarms\ndata: "):])
            for alarm in alarms:
                alarm["said"] = str(said(alarm["message"]))
            text = f"event: alarms\ndata: {json.dumps(alarms, ensure_ascii=False)}\n\n"
        elif text.startswith("event: delivery\ndata: "):
            row = json.loads(text[len("event: delivery\ndata: "):])
            row["said"] = str(said(row["error"])) if row.get("error") else ""
            text = f"event: delivery\ndata: {json.dumps(row, ensure_ascii=False)}\n\n"
        yield text
