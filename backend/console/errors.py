"""Errors as a person reads them: in Chinese, in place, saying what to do next.

Services raise the same domain errors for the console as for the API; each carries its HTTP
status and stable code (the framework-free packages' errors are in `backend.api.errors.FOREIGN`),
and this module gives the code its Chinese sentence. A form that fails is shown again with the
sentence above it (`FormError` carries it to the view); anything else gets an error page with a
way back.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from backend.api import errors as api_errors
from backend.errors import DomainError

from . import blp
from .session import CsrfRefused, current_user, to_sign_in

log = logging.getLogger(__name__)

MESSAGES: dict[str, str] = {
    "auth.invalid_credentials": "用户名或密码错误。",
    "auth.locked": "登录失败次数过多，账号已暂时锁定。请稍后再试，或请管理员重置密码。",
    "auth.required": "登录已过期，请重新登录。",
    "auth.token_revoked": "登录已失效（账号被停用或在别处退出），请重新登录。",
    "auth.forbidden": "您的角色不能进行此操作。",
    "not_found": "没有找到该记录，或它不属于您所在的单位。",
    "pagination.invalid_cursor": "翻页位置无效，请从第一页重新开始。",
    "review.forbidden": "只有检查记录所属单位的负责人（审核人）才能审核。",
    "review.own_inspection": (
        "您参与了这次检查，须由本单位另一位审核人审核（谁检查、谁签名、谁负责）。"
    ),
    "review.not_submitted": "这份记录尚未提交（或已退回），检查人员在平板上提交后才能审核。",
    "review.already_approved": "这份记录已经审核通过，隐患已进入台账。",
    "review.already_rejected": "这份记录已被驳回。",
    "review.comment_required": "驳回必须填写理由。",
    "review.findings_mismatch": "每条隐患都要确认一次等级。请刷新页面后重试。",
    "review.findings_not_expected": "只有审核通过时才确认隐患等级。",
    "review.rule_unknown": "所选判定条款不属于该检查表版本。",
    "review.rule_not_major": "一般隐患不选判定条款：请改为重大事故隐患或清除条款。",
    "review.override_reason_required": (
        "确认的等级与判定结果不一致，或重大事故隐患没有符合的判定条款：请填写理由。"
    ),
    "review.deadline_missing": "有隐患没有整改时限，请填写。",
    "review.clause_required": "确认为重大事故隐患须选择所依据的判定条款。",
    "review.clause_unknown": "所选判定条款不在判定标准目录中。",
    "review.clause_not_applicable": ("所选判定条款在检查当日未生效，或不适用于该企业的行业领域。"),
    "hazard.forbidden": "您的角色不能记录这一步。",
    "hazard.own_rectification": "整改情况是您报告的，复查须由另一人进行。",
    "hazard.plan_required": (
        "重大事故隐患首次报告整改须填写一患一策（责任人、措施、资金、期限、应急预案）。"
    ),
    "hazard.listing_fields_required": "挂牌督办须填写督办要求和督办期限。",
    "hazard.clause_required": "改为重大事故隐患须填写所依据的判定条款。",
    "hazard.clause_not_applicable": "所填判定条款在发现当日未生效，或不适用于该行业领域。",
    "hazard.level_unchanged": "新的级别与当前级别相同。",
    "hazard.already_received": "这条隐患已经接报。",
    "hazard.not_self_reported": "只有企业自查发现的隐患需要接报。",
    "hazard.channel_required": "请填写接报方式。",
    "hazard.listing_unit_only": "这条隐患已挂牌督办，只有挂牌单位的审核人可以销号。",
    "hazard.not_major": "只有重大事故隐患才能挂牌督办。",
    "hazard.already_listed": "这条隐患已经挂牌督办。",
    "hazard.measures_required": "请填写整改措施。",
    "hazard.passed_required": "请选择复查是否合格。",
    "hazard.comment_required": "复查不合格时请写明原因。",
    "hazard.reason_required": "请填写理由。",
    "hazard.deadline_required": "请填写新的整改时限。",
    "hazard.deadline_in_past": "新的整改时限必须晚于今天。",
    "hazard.deadline_not_later": "新的整改时限必须晚于当前整改时限。",
    "hazard.listed_on_in_future": "挂牌日期不能晚于今天。",
    "hazard.listing_unit_invalid": "挂牌单位必须是隐患所属单位或其上级单位。",
    "hazard.photos_missing": "所附照片尚未上传成功，请重新选择照片。",
    "hazard.after_photos_required": "重大事故隐患销号前须至少有一张整改后照片。",
    "hazard.field_not_allowed": "这一步不接受所填的某些内容。",
    "hazard.event_unknown": "未知的操作。",
    "jobs.not_failed": "该任务已不是失败状态（可能已被重试）。",
    "unit.name_taken": "同一上级单位下已有同名单位。",
    "user.username_taken": "该用户名已被使用。",
    "validation.invalid": "所填内容有误，请检查后再提交。",
    "media.not_an_image": "所选文件不是可识别的图片。",
    "media.too_large": "照片太大。",
    "media.too_many_pixels": "照片像素过多。",
    "media.store_unavailable": "照片存储暂时不可用，未保存任何内容，请稍后再试。",
    "server.unavailable": "数据库暂时不可用，未保存任何内容，请稍后再试。",
    "report.forbidden": "调度表由本单位的审核人（负责人）报送，报送人即审核人。",
    "report.preparer_invalid": "填表人须是本单位在用的账号。",
    "report.reason_required": "本期已报送过：再次报送（更正）须填写理由。",
    "report.filing_conflict": "有人同时报送了这份调度表，请刷新页面后重试。",
    "report.period_invalid": "统计区间无效。",
    "report.column_unknown": "调度表没有这一栏。",
    "report.row_unknown": "调度表没有这一行。",
    "report.template_unknown": "没有这个调度表模板。",
    "bundle.unknown_scope": "无法为这类内容生成佐证材料。",
    "bundle.scope_not_available": "这类佐证材料尚不能生成。",
    "bundle.not_found": "没有这份佐证材料，或其中有您无权查看的记录。",
    "bundle.link_expired": "下载链接已过期，请回到佐证材料页面重新下载。",
}
# Codes whose state-specific tail varies: hazard.state_pending, hazard.state_closed, …
PREFIXES = {"hazard.state_": "这条隐患当前的状态不允许这一步，请刷新页面查看最新状态。"}
FALLBACK = "操作未完成。"


class FormError(Exception):
    """A form the person must correct: re-shown with `message` in place."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


def code_of(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, DomainError):  # domain errors carry their status and code
        return exc.status, exc.code
    for cls, status, code in api_errors.FOREIGN:
        if isinstance(exc, cls):
            return status, code
    return 500, "server.error"


def message_of(exc: Exception) -> str:
    """The Chinese sentence for a domain error (its English detail kept for an unknown code)."""
    _status, code = code_of(exc)
    if code in MESSAGES:
        return MESSAGES[code]
    for prefix, text in PREFIXES.items():
        if code.startswith(prefix):
            return text
    detail = exc.message if isinstance(exc, DomainError) else str(exc)
    return f"{FALLBACK}（{detail}）"


def page(status: int, title: str, message: str) -> tuple[str, int]:
    return (
        render_template("console/error.html", title=title, message=message, user=current_user()),
        status,
    )


@blp.errorhandler(DomainError)
def _domain_error(exc: DomainError) -> Any:
    status, code = code_of(exc)
    if code in ("auth.required", "auth.token_revoked"):
        return to_sign_in()
    title = {403: "无权操作", 404: "未找到"}.get(status, "操作未完成")
    return page(status, title, message_of(exc))


@blp.errorhandler(CsrfRefused)
def _csrf(exc: CsrfRefused) -> Any:
    return page(400, "请求被拒绝", str(exc.description))


@blp.errorhandler(OperationalError)
def _database_down(exc: OperationalError) -> Any:
    log.warning("database unavailable: %s", exc)
    return page(503, "暂时不可用", MESSAGES["server.unavailable"])


@blp.errorhandler(HTTPException)
def _http(exc: HTTPException) -> Any:
    status = exc.code or 500
    if status < 400:
        return exc.get_response()
    titles = {
        400: ("请求有误", "请求内容有误，请返回上一页重试。"),
        404: ("未找到", "没有这个页面。"),
        405: ("请求有误", "不支持这种访问方式。"),
        413: ("内容太大", "提交的内容太大（照片请逐张上传）。"),
    }
    title, message = titles.get(status, ("出错了", "请求未能完成，请稍后重试。"))
    return page(status, title, message)


@blp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Any:
    log.exception("console: unhandled error on %s", request.path)
    return page(
        500, "出错了", "服务器出错，操作未完成。请重试；如果一直出现，请告知管理员出错的时间。"
    )
