"""The minimal web pages: login, CSRF, the devices list, and sending an announcement."""

from __future__ import annotations

import re

from broadcaster.db import Broadcast, Bulletin
from tests.support.env import DEVICES, Env
from tests.support.web import csrf, login


def test_pages_need_login(env: Env) -> None:
    response = env.client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_wrong_password_is_refused_in_vietnamese(env: Env) -> None:
    html = login(env, "wrong")
    assert "Sai tên đăng nhập hoặc mật khẩu" in html
    assert env.client.get("/").status_code == 302


def test_login_shows_every_device_and_its_village(env: Env) -> None:
    assert login(env) == "/"
    html = env.client.get("/").get_data(as_text=True)
    for device_id in DEVICES:
        assert device_id in html
    assert "Thôn 1" in html and "mất kết nối" in html


def test_form_without_csrf_token_is_refused(env: Env) -> None:
    login(env)
    response = env.client.post("/send", data={"title": "x", "text": "y"})
    assert response.status_code == 400
    with env.db.session() as session:
        assert session.query(Bulletin).count() == 0


def test_sending_an_announcement_creates_an_approved_broadcast(env: Env) -> None:
    login(env)
    token = csrf(env.client.get("/").get_data(as_text=True))
    response = env.client.post("/send", data={
        "csrf_token": token, "title": "<b>Họp</b> dân", "text": "Họp thôn lúc 19h30.", "priority": "priority",
        "targets": ["loa-01", "loa-02"]})
    assert response.status_code == 302
    with env.db.session() as session:
        broadcast = session.query(Broadcast).one()
        assert broadcast.bulletin.state == "approved" and broadcast.priority == "priority"
        assert sorted(d.device_id for d in broadcast.deliveries) == ["loa-01", "loa-02"]
    page = env.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "&lt;b&gt;Họp&lt;/b&gt; dân" in page, "text officers type is shown escaped, never as HTML"
    assert "<b>Họp</b>" not in page
    assert "đang chờ" in page


def test_bad_form_keeps_what_was_typed_and_explains(env: Env) -> None:
    login(env)
    token = csrf(env.client.get("/").get_data(as_text=True))
    response = env.client.post("/send", data={"csrf_token": token, "title": "Tiêu đề giữ lại", "text": "   "})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Tiêu đề giữ lại" in html and "Vui lòng nhập đầy đủ" in html
    response = env.client.post("/send", data={"csrf_token": token, "title": "T", "text": "Nội dung",
                                              "play_at": "2001-01-01T06:00"})
    assert response.status_code == 422 and "Thời gian phát đã qua" in response.get_data(as_text=True)
    with env.db.session() as session:
        assert session.query(Bulletin).count() == 0 and session.query(Broadcast).count() == 0


def test_login_returns_only_to_pages_of_this_site(env: Env) -> None:
    for target, expected in (("/broadcasts/1", "/broadcasts/1"), ("//evil.example", "/"),
                             ("/\\evil.example", "/"), ("https://evil.example", "/")):
        page = env.client.get("/login").get_data(as_text=True)
        response = env.client.post(f"/login?next={target}", data={
            "username": "admin", "password": "correct horse battery", "csrf_token": csrf(page)})
        assert response.headers["Location"] == expected, target
        with env.client.session_transaction() as session:
            session.clear()


def test_every_page_opens_for_an_admin_and_the_audit_log_for_admins_only(env: Env) -> None:
    login(env)
    bulletin = env.broadcast("Họp dân.")["bulletin_id"]
    for path in ("/", "/bulletins", f"/bulletins/{bulletin}", "/bulletins?state=submitted", "/emergency",
                 "/dashboard", "/reports", "/audit", "/lexicon", "/admin/users", "/admin/areas", "/programmes/new"):
        response = env.client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert "Traceback" not in html
        title = re.search(r"<title>(.*?)</title>", html, flags=re.S)
        assert title and "<" not in title.group(1) and title.group(1).strip(), f"{path}: a plain title"
        assert html.count("<main>") == 1 and html.count("</html>") == 1, path
    csv_answer = env.client.get("/reports.csv")
    assert csv_answer.mimetype == "text/csv"
    assert csv_answer.get_data(as_text=True).lstrip("\ufeff").startswith("Dự kiến,Mã cụm loa,Cụm loa")
    iso = env.client.get("/reports.csv?format=iso")
    assert iso.mimetype == "text/csv" and iso.get_data(as_text=True).lstrip("\ufeff").startswith("planned,device_id")

    env.user("bien-tap", ("editor",))
    env.client.post("/logout", data={"csrf_token": csrf(env.client.get("/").get_data(as_text=True))})
    page = env.client.get("/login").get_data(as_text=True)
    env.client.post("/login", data={"username": "bien-tap", "password": "bien-tap password 123",
                                    "csrf_token": csrf(page)})
    denied = env.client.get("/audit")
    assert denied.status_code == 403
    assert "Gửi duyệt" in env.client.get("/").get_data(as_text=True), "an editor's button sends for approval"


def test_the_reading_follows_the_typing(env: Env) -> None:
    html = login(env)
    token = csrf(env.client.get("/").get_data(as_text=True))
    answer = env.client.post("/reading", data={"csrf_token": token, "text": "UBND xã họp lúc 7h30."}).get_json()
    assert answer["sentences"] == ["ủy ban nhân dân xã họp lúc bảy giờ ba mươi phút."]
    assert html == "/"


def test_a_recording_in_a_minority_language_is_uploaded_from_the_page(env: Env, tmp_path: object) -> None:
    import subprocess
    from io import BytesIO
    from pathlib import Path

    login(env)
    wav = Path(str(tmp_path)) / "ghi-am.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=300:duration=2",
                    str(wav)], check=True)
    token = csrf(env.client.get("/bulletins").get_data(as_text=True))
    response = env.client.post("/bulletins/upload", content_type="multipart/form-data", data={
        "csrf_token": token, "title": "Thông báo tiếng Hmông", "language": "hmn",
        "audio": (BytesIO(wav.read_bytes()), "ghi-am.wav")})
    assert response.status_code == 302
    page = env.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "bản ghi âm (hmn" in page and "nháp" in page
    bad = env.client.post("/bulletins/upload", content_type="multipart/form-data", data={
        "csrf_token": token, "title": "Hỏng", "language": "hmn", "audio": (BytesIO(b"not audio"), "x.mp3")})
    assert bad.status_code == 422 and 'id="error"' in bad.get_data(as_text=True), "refused with a reason shown"


def test_text_typed_by_anyone_is_shown_escaped(env: Env) -> None:
    login(env)
    env.client.post("/api/v1/bulletins", headers=env.auth,
                    json={"title": "<script>alert(1)</script>", "text": "<b>đậm</b> & 'nháy'"})
    html = env.client.get("/bulletins").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_an_admin_adds_an_area_sets_its_hours_and_adds_a_user_working_there(env: Env) -> None:
    from broadcaster.db import AirtimeRule, Area

    login(env)
    page = env.client.get("/admin/areas").get_data(as_text=True)
    with env.db.session() as session:
        commune = session.query(Area).filter_by(name="Xã Thử").one().id
    created = env.client.post("/admin/areas", data={"csrf_token": csrf(page), "action": "create", "name": "Thôn Mới",
                                                    "kind": "village", "parent_id": str(commune)})
    assert created.status_code == 302
    with env.db.session() as session:
        village = session.query(Area).filter_by(name="Thôn Mới").one()
        assert village.parent_id == commune
    refused = env.client.post("/admin/areas", data={"csrf_token": csrf(page), "action": "create", "name": "Tỉnh lạ",
                                                    "kind": "province", "parent_id": str(village.id)})
    assert refused.status_code == 422, "a province cannot lie under a village"
    env.client.post("/admin/areas", data={"csrf_token": csrf(page), "action": "airtime", "area_id": str(village.id),
                                          "allowed_from": "06:00", "allowed_to": "20:00", "max_session_min": "15",
                                          "max_sessions_per_day": ""})
    with env.db.session() as session:
        rule = session.get(AirtimeRule, village.id)
        assert rule is not None and (rule.allowed_from, rule.max_session_min, rule.max_sessions_per_day) == \
            ("06:00", 15, None)

    page = env.client.get("/admin/users").get_data(as_text=True)
    answer = env.client.post("/admin/users", data={"csrf_token": csrf(page), "action": "create",
                                                   "username": "truong-thon", "password": "mat khau truong thon",
                                                   "roles": ["editor"], "areas": [str(village.id)]})
    assert answer.status_code == 302
    listed = {u["username"]: u for u in env.client.get("/api/v1/users", headers=env.auth).get_json()}
    assert listed["truong-thon"]["roles"] == ["editor"] and listed["truong-thon"]["areas"] == [village.id]
    weak = env.client.post("/admin/users", data={"csrf_token": csrf(page), "action": "create", "username": "x2",
                                                 "password": "ngan", "roles": ["editor"], "areas": [str(village.id)]})
    assert weak.status_code == 422 and 'id="error"' in weak.get_data(as_text=True)


def test_a_weekly_relay_with_exceptions_is_scheduled_from_the_page_and_the_bulletin_shows_its_stage(
        env: Env) -> None:
    from datetime import date, timedelta

    start, until = date.today() + timedelta(days=30), date.today() + timedelta(days=120)
    skips = [(start + timedelta(days=n)).isoformat() for n in (7, 9)]
    login(env)
    bulletin = env.client.post("/api/v1/bulletins", headers=env.auth,
                               json={"title": "Tiếp sóng", "text": "Xin lỗi, đài tỉnh tạm gián đoạn."}).get_json()
    env.client.post(f"/api/v1/bulletins/{bulletin['id']}/approve", headers=env.auth)
    page = env.client.get(f"/bulletins/{bulletin['id']}").get_data(as_text=True)
    assert "đã duyệt" in page
    answer = env.client.post(f"/bulletins/{bulletin['id']}", data={
        "csrf_token": csrf(page), "action": "schedule", "targets": ["loa-01"], "recurring": "1",
        "weekdays": ["1", "3", "5"], "times": "06:00, 17:30", "start": start.isoformat(), "until": until.isoformat(),
        "skip": ", ".join(skips), "stream_url": "https://radio.example.vn/live.mp3", "window_min": "30"})
    assert answer.status_code == 302, answer.get_data(as_text=True)[-800:]
    broadcast = env.client.get("/api/v1/broadcasts", headers=env.auth).get_json()[0]
    assert broadcast["repeat"]["skip"] == skips and broadcast["repeat"]["start"] == start.isoformat()
    assert broadcast["repeat"]["times"] == ["06:00", "17:30"] and broadcast["repeat"]["weekdays"] == [1, 3, 5]
    assert broadcast["relay"] == {"url": "https://radio.example.vn/live.mp3", "window_s": 1800}
    assert env.client.get(f"/api/v1/bulletins/{bulletin['id']}", headers=env.auth).get_json()["stage"] == "scheduled"
    assert "đã lên lịch" in env.client.get(f"/bulletins/{bulletin['id']}").get_data(as_text=True)
    bad = env.client.post(f"/bulletins/{bulletin['id']}", data={
        "csrf_token": csrf(page), "action": "schedule", "targets": ["loa-01"], "stream_url": "ftp://x",
        "window_min": "30"})
    assert bad.status_code == 422 and "http://" in bad.get_data(as_text=True)


def test_a_programme_is_put_together_on_a_page(env: Env) -> None:
    login(env)
    ids = []
    for text in ("Mở đầu.", "Tin chính."):
        bulletin = env.client.post("/api/v1/bulletins", headers=env.auth, json={"title": text, "text": text})
        ids.append(bulletin.get_json()["id"])
        env.client.post(f"/api/v1/bulletins/{ids[-1]}/approve", headers=env.auth)
    page = env.client.get("/programmes/new").get_data(as_text=True)
    answer = env.client.post("/programmes/new", data={"csrf_token": csrf(page), "title": "Buổi sáng",
                                                      "items": [str(ids[1]), "", str(ids[0])], "targets": ["loa-01"]})
    assert answer.status_code == 302
    made = env.client.get("/api/v1/broadcasts", headers=env.auth).get_json()
    assert [b["bulletin_id"] for b in sorted(made, key=lambda b: b["id"])] == [ids[1], ids[0]], "in the chosen order"
    empty = env.client.post("/programmes/new", data={"csrf_token": csrf(page), "title": "Trống", "items": [""]})
    assert empty.status_code == 422 and "ít nhất một bản tin" in empty.get_data(as_text=True)


def test_numbers_typed_wrong_in_forms_are_refused_not_crashed_on(env: Env) -> None:
    login(env)
    page = env.client.get("/emergency").get_data(as_text=True)
    answer = env.client.post("/emergency", data={"csrf_token": csrf(page), "template": "storm",
                                                 "repeat_count": "ba", "repeat_every_min": "10"})
    assert answer.status_code == 422 and "Số lần phát lại phải là một số" in answer.get_data(as_text=True)
    page = env.client.get("/admin/areas").get_data(as_text=True)
    answer = env.client.post("/admin/areas", data={"csrf_token": csrf(page), "action": "airtime", "area_id": "x",
                                                   "allowed_from": "05:30", "allowed_to": "21:30"})
    assert answer.status_code == 422
    page = env.client.get("/admin/users").get_data(as_text=True)
    answer = env.client.post("/admin/users", data={"csrf_token": csrf(page), "action": "unlock", "user_id": "x"})
    assert answer.status_code == 422


def test_an_airtime_refusal_is_said_once_per_rule_with_the_clusters_by_name_and_keeps_the_form(env: Env) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from broadcaster.db import Area
    from broadcaster.ops.bootstrap import ensure_airtime

    with env.db.session() as session:
        ensure_airtime(session, session.query(Area).filter_by(name="Xã Thử").one(), "05:30", "21:30")
    login(env)
    bulletin = env.client.post("/api/v1/bulletins", headers=env.auth, json={"title": "Họp", "text": "Họp dân."})
    bulletin_id = bulletin.get_json()["id"]
    env.client.post(f"/api/v1/bulletins/{bulletin_id}/approve", headers=env.auth, json={"schedule": False})
    night = (datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")) + timedelta(days=1)).replace(hour=3, minute=0)
    page = env.client.get(f"/bulletins/{bulletin_id}").get_data(as_text=True)
    answer = env.client.post(f"/bulletins/{bulletin_id}", data={
        "csrf_token": csrf(page), "action": "schedule", "targets": ["loa-01", "loa-02"], "priority": "normal",
        "play_at": night.strftime("%Y-%m-%dT%H:%M")})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert text.count("lượt này") == 1, "one line for the rule both clusters break"
    assert "Cụm loa 1, Cụm loa 2: giờ cho phép 05:30-21:30, lượt này 03:00-03:01" in text
    assert 'value="loa-02" checked' in text and night.strftime("%Y-%m-%dT03:00") in text, "the form is kept"


def test_the_front_page_says_what_each_broadcast_has_become(env: Env) -> None:
    """Scheduled for tomorrow, played everywhere, or failed everywhere: not "đã gửi" for all three."""
    from datetime import UTC, datetime, timedelta

    from broadcaster.db import Delivery

    later = env.broadcast("Họp dân ngày mai.", targets=["loa-01"],
                          play_at=(datetime.now(UTC) + timedelta(days=1)).isoformat())
    played = env.broadcast("Đã phát xong.", targets=["loa-01", "loa-02"])
    failed = env.broadcast("Không phát được.", targets=["loa-02"])
    with env.db.session() as session:
        for broadcast, state in ((later, "sent"), (played, "sent"), (failed, "sent")):
            session.get(Broadcast, broadcast["id"]).state = state
        for delivery in session.query(Delivery).filter(Delivery.broadcast_id.in_([played["id"], failed["id"]])):
            delivery.state = "played" if delivery.broadcast_id == played["id"] else "failed"
    login(env)
    page = env.client.get("/").get_data(as_text=True)
    rows = {int(m[0]): m[1] for m in re.findall(r'broadcasts/(\d+)">\d+</a>.*?<span class="state (\w+)"', page, re.S)}
    assert rows == {later["id"]: "scheduled", played["id"]: "played", failed["id"]: "failed"}
