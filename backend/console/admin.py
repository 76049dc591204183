"""Administration for admins: units, users, devices (revoke a lost tablet) and failed jobs,
through the organisation and operations services the admin API uses."""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from backend.api.context import db
from backend.errors import DomainError, PermissionDenied
from backend.models import Device, Role, UnitKind, User
from backend.services import operations, organisation, scope

from . import blp, forms
from .errors import FormError, message_of
from .session import signed_in, user

USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
LIMIT = 200


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(f"console/{template}", **context), status


def _units_context() -> dict[str, Any]:
    units = organisation.list_units(db(), user(), limit=LIMIT, cursor=None).items
    return {"title": "系统管理 · 单位", "units": units, "kinds": UnitKind, "section": "units"}


@blp.route("/admin/units", methods=["GET", "POST"])
@signed_in(Role.admin)
def admin_units() -> Any:
    """单位: the admin's unit and those below; add a town/department, rename one."""
    if request.method == "GET":
        return _page("admin_units.html", **_units_context(), error=None)
    form = request.form
    try:
        name = forms.text(form, "name", limit=200)
        if not name:
            raise FormError("请填写单位名称。")
        unit_id = forms.uuid_of(form, "unit_id")
        if unit_id is not None:  # rename
            unit = scope.get_visible_unit(db(), user(), unit_id)
            organisation.rename_unit(db(), user(), unit, name)
        else:
            parent_id = forms.uuid_of(form, "parent_id")
            kind = form.get("kind", "")
            if parent_id is None or kind not in ("town", "department"):
                raise FormError("请选择上级单位和单位类型。")
            organisation.add_unit(db(), user(), parent_id=parent_id, name=name, kind=UnitKind(kind))
    except (FormError, DomainError) as exc:
        db().rollback()
        text = exc.message if isinstance(exc, FormError) else message_of(exc)
        return _page("admin_units.html", 422, **_units_context(), error=text)
    flash("已保存。")
    return redirect(url_for("console.admin_units"))


def _users_context() -> dict[str, Any]:
    users = organisation.list_users(db(), user(), unit_id=None, limit=LIMIT, cursor=None).items
    units = organisation.list_units(db(), user(), limit=LIMIT, cursor=None).items
    return {
        "title": "系统管理 · 用户",
        "users": users,
        "units": units,
        "roles": Role,
        "section": "users",
    }


@blp.route("/admin/users", methods=["GET", "POST"])
@signed_in(Role.admin)
def admin_users() -> Any:
    """用户: create one; enable or disable one."""
    if request.method == "GET":
        return _page("admin_users.html", **_users_context(), error=None)
    form = request.form
    try:
        target = forms.uuid_of(form, "user_id")
        if target is not None:
            person = organisation.get_visible_user(db(), user(), target)
            organisation.update_user(db(), user(), person, {"active": form.get("active") == "1"})
        else:
            _create_user(form)
    except (FormError, DomainError) as exc:
        db().rollback()
        text = exc.message if isinstance(exc, FormError) else message_of(exc)
        return _page("admin_users.html", 422, **_users_context(), error=text)
    flash("已保存。")
    return redirect(url_for("console.admin_users"))


def _create_user(form: Any) -> User:
    username = (form.get("username") or "").strip()
    if not USERNAME.match(username):
        raise FormError("用户名须为 2–64 位字母、数字、下划线、点或连字符。")
    display_name = forms.text(form, "display_name", limit=100)
    role = form.get("role", "")
    unit_id = forms.uuid_of(form, "unit_id")
    if not display_name or role not in Role.__members__ or unit_id is None:
        raise FormError("请填写姓名，并选择角色和单位。")
    password = form.get("password", "")
    if len(password) < 10:
        raise FormError("初始密码至少 10 位。")
    unit = scope.get_visible_unit(db(), user(), unit_id)
    return organisation.create_user(
        db(),
        user(),
        username=username,
        display_name=display_name,
        password=password,
        role=Role(role),
        unit=unit,
    )


@blp.route("/admin/users/<uuid:user_id>/devices", methods=["GET", "POST"])
@signed_in(Role.admin)
def admin_devices(user_id: uuid.UUID) -> Any:
    """一个用户的平板: revoke a lost or stolen one (every token it holds stops working)."""
    person = organisation.get_visible_user(db(), user(), user_id)
    error = None
    if request.method == "POST":
        try:
            device_id = forms.uuid_of(request.form, "device_id")
            reason = forms.text(request.form, "reason", limit=2000)
            if device_id is None or not reason:
                raise FormError("请填写停用原因（例如：平板丢失）。")
            organisation.revoke_device(db(), user(), device_id, reason=reason)
        except (FormError, DomainError) as exc:
            db().rollback()
            error = exc.message if isinstance(exc, FormError) else message_of(exc)
        else:
            flash("平板已停用，它持有的登录凭据全部失效。")
            return redirect(url_for("console.admin_devices", user_id=user_id))
    devices: list[Device] = organisation.list_devices(db(), user(), user_id)
    return _page(
        "admin_devices.html",
        422 if error else 200,
        title="系统管理 · 平板",
        person=person,
        devices=devices,
        error=error,
        section="users",
    )


def _require_operator() -> None:
    # Outbox rows belong to no unit: only an admin of a top-level unit sees them (as the API).
    if user().unit.parent_id is not None:
        raise PermissionDenied("Only an admin of a top-level unit can see and retry jobs.")


@blp.route("/admin/jobs", methods=["GET", "POST"])
@signed_in(Role.admin)
def admin_jobs() -> Any:
    """后台任务: outbox work that kept failing, with its last error; put one back."""
    _require_operator()
    if request.method == "POST":
        item_id = (request.form.get("item_id") or "").strip()
        if item_id.isdigit() and operations.retry_job(db(), user(), int(item_id)):
            flash(f"任务 {item_id} 已重新排队。")
        else:
            flash(f"任务 {item_id} 已不是失败状态（可能已被重试）。")
        return redirect(url_for("console.admin_jobs"))
    return _page(
        "admin_jobs.html",
        title="系统管理 · 后台任务",
        jobs=operations.failed_jobs(db()),
        section="jobs",
    )


def back_to_users() -> Response:
    return redirect(url_for("console.admin_users"))
