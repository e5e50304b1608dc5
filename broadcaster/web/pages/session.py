"""Signing in and out, and the pages' language."""

from __future__ import annotations

import secrets

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from broadcaster.domain import accounts, errors
from broadcaster.web.common import db
from broadcaster.web.pages.base import (
    bp,
    check_csrf,
)


def _local_target(target: str) -> str | None:
    """Only paths on this site: never '//host' or '/\\host', which browsers read as another site."""
    if target.startswith("/") and not target.startswith(("//", "/\\")) and "\\" not in target:
        return target
    return None


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    if request.method == "POST":
        check_csrf()
        try:
            user = accounts.login(db(), request.form.get("username", "")[:80], request.form.get("password", ""))
        except errors.Refusal as exc:
            db().commit()  # the failure counts towards the lockout and is audited
            message = (gettext("Sai tên đăng nhập hoặc mật khẩu.") if exc.code == "bad_login" else
                       gettext("Tài khoản này dành cho hệ thống khác đọc dữ liệu qua API, không đăng nhập vào "
                               "trang.") if exc.code == "integration_account" else
                       gettext("Tài khoản tạm khóa do nhập sai mật khẩu nhiều lần. Hãy thử lại sau 15 phút "
                               "hoặc nhờ quản trị viên mở khóa."))
            flash(message, "error")
            return render_template("login.html"), exc.status
        language = session.get("lang")
        session.clear()
        if language:
            session["lang"] = language
        session["user_id"] = user.id
        session["csrf"] = secrets.token_urlsafe(32)
        return redirect(_local_target(request.args.get("next", "")) or url_for("ui.index"))
    return render_template("login.html")


@bp.get("/lang/<code>")
def choose_language(code: str) -> Response:
    """Switch the pages' language (kept in the session) and go back where the officer was."""
    from broadcaster.web.i18n import LANGUAGES

    if code in LANGUAGES:
        session["lang"] = code
    back = request.referrer or ""
    path = back.split(request.host, 1)[1] if request.host in back else ""
    return redirect(_local_target(path) or url_for("ui.index"))


@bp.post("/logout")
def logout() -> Response:
    check_csrf()
    session.clear()
    return redirect(url_for("ui.login"))
