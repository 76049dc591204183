"""Sign-in and sign-out pages, the navigation, and what every template may use."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from backend.errors import AccountLocked, InvalidCredentials
from backend.models import Role

from . import blp, present
from .errors import message_of
from .session import check_csrf, csrf_token, current_user, load_user, safe_next, sign_in, sign_out

# (endpoint, label, roles that see it).
NAV: tuple[tuple[str, str, tuple[Role, ...]], ...] = (
    ("console.queue", "审核队列", (Role.supervisor, Role.admin, Role.inspector)),
    ("console.ledger", "隐患台账", (Role.supervisor, Role.admin, Role.inspector)),
    ("console.reports_page", "调度表", (Role.supervisor, Role.admin, Role.inspector)),
    ("console.bundles", "佐证材料", (Role.supervisor, Role.admin, Role.inspector)),
    ("console.admin_units", "系统管理", (Role.admin,)),
)


@blp.app_template_global()
def console_nav() -> list[tuple[str, str]]:
    person = current_user()
    if person is None:
        return []
    return [(endpoint, label) for endpoint, label, roles in NAV if person.role in roles]


@blp.context_processor
def _globals() -> dict[str, Any]:
    return {"csrf_token": csrf_token, "user": current_user(), "p": present}


@blp.route("/")
def index() -> Response:
    return redirect(url_for("console.queue"))


@blp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The sign-in form; then back to where the person was going."""
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        if load_user() is not None:
            return redirect(target)
        expired = request.args.get("expired") == "1"
        notice = "登录已过期或尚未登录，请登录；登录后将回到原来的页面。" if expired else None
        return render_template("console/login.html", next=target, notice=notice, error=None)
    check_csrf()
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not username or not password:
        error = "请输入用户名和密码。"
    else:
        try:
            sign_in(username, password)
        except (InvalidCredentials, AccountLocked) as exc:
            error = message_of(exc)
        else:
            return redirect(target)
    page = render_template(
        "console/login.html", next=target, notice=None, error=error, username=username
    )
    return page, 401


@blp.route("/logout", methods=["POST"])
def logout() -> Response:
    check_csrf()
    sign_out()
    return redirect(url_for("console.login"))
