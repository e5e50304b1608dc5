"""Flask's own error pages (not found, not allowed, wrong method, an expired form, a crash) as pages of the site:
in the officer's language, with the navigation, at a phone's width."""

from __future__ import annotations

from flask import render_template, session
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from broadcaster.db import User

TITLES = {
    400: _l("Yêu cầu không hợp lệ"),
    403: _l("Không được phép"),
    404: _l("Không tìm thấy trang"),
    405: _l("Không làm được việc này ở đây"),
    413: _l("Tệp quá lớn"),
    500: _l("Máy chủ gặp lỗi"),
}

EXPLANATIONS = {
    400: _l("Máy chủ không hiểu yêu cầu này."),
    403: _l("Tài khoản của bạn không có quyền làm việc này."),
    404: _l("Địa chỉ này không có, hoặc nằm ngoài địa bàn của bạn."),
    405: _l("Trang này không nhận cách gửi này; hãy quay lại và dùng nút trên trang."),
    413: _l("Tệp gửi lên lớn quá mức máy chủ nhận."),
    500: _l("Đã ghi lại lỗi để người quản trị xem. Việc vừa làm chưa được lưu; xin thử lại sau ít phút."),
}

def error_page(exc: HTTPException) -> tuple[str, int]:
    code = exc.code or 500
    # A description given by our own abort() (the expired form's, in the page's language) is shown; werkzeug's
    # own English ones are not.
    detail = exc.description if code == 400 and exc.description != type(exc).description else None
    return render_template("error.html", user=_current_user(code), code=code,
                           title=TITLES.get(code, TITLES[400 if code < 500 else 500]),
                           explanation=EXPLANATIONS.get(code, EXPLANATIONS[400 if code < 500 else 500]),
                           detail=detail), code


def _current_user(code: int) -> User | None:
    """The logged-in officer (for the navigation); none after a crash, whose database session may be the cause."""
    if code >= 500 or not session.get("user_id"):
        return None
    from broadcaster.web.common import db

    try:
        return db().get(User, session["user_id"])
    except Exception:
        return None
