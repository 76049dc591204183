"""调度表 in the console: the report shown like the printed form, the records behind a figure,
filing (填表人/审核人) and the XLSX. Every figure, rule and refusal is the reports services'
(`backend.services.reports`: compute, render, filing, workbook), as the API uses them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from backend.api import reports as reports_api
from backend.api.context import db
from backend.errors import DomainError
from backend.models import Role, Unit, User
from backend.services import reports, scope
from backend.services.ledger.states import CHINA
from backend.services.reports import filing, render, workbook

from . import blp, forms
from .errors import FormError, code_of, message_of
from .review import ALL_ROLES
from .session import signed_in, user

TEMPLATES = ("licheng", "fuzhou", "haicheng", "quanzhou")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TYPE_LABELS = {"hazard": "隐患", "inspection": "检查", "reinspection": "复查", "record": "执法记录"}
# Why a record is not counted, in the console's Chinese; the codes are the reports services'
# (`counting.REASONS`, whose English the API gives). A code not listed here shows that English.
REASONS = {
    "late": "填报日期晚于报送期限（迟报）：列出，不计入",
    "voided": "截至统计日该隐患已作废",
    "major.no_clause": "申报重大但无判定标准条款（填表说明 4：非标准内的不计入统计）",
    "campaign.other": "不属于本调度表的专项行动",
    "not_a_business": "不是生产经营单位（填表说明 3）",
    "town.not_reported": "镇街不需要填报帮扶指导镇街（填表说明 2）",
    "assistance.not_key_town": "帮扶指导的镇街不是重点镇街",
    "assistance.not_key_enterprise": "帮扶指导的企业不是重点企业",
    "typical_case.same_kind_and_sector": "同类型、同行业领域的案例已计入"
    "（填表说明 6：同类型或同行业领域的，要典型的才纳入统计）",
    "enterprise.counted": "该企业已计入一次（按家统计）",
    "visit.same_day": "与当天对该企业的检查是同一次检查",
    "public_pressure.other_measure": "纳入黑名单不属于曝光、约谈、联合惩戒",
    "penalty.not_work_safety": "不是安全生产行政处罚（填表说明 5）",
    "penalty.not_production_vehicle": "行人、电动自行车或私家车的交通处罚"
    "（填表说明 5：只算生产经营性车辆）",
    "referral.no_criminal_case": "拘留未入刑（填表说明 5：未入刑的，不算）",
    "evidence.plan_missing": "缺检查方案或宣讲方案（填表说明 8、9）",
    "evidence.photos_missing": "缺照片（填表说明 8、9）",
    "evidence.minutes_missing": "缺纪要或文件（填表说明 7）",
    "evidence.document_missing": "缺协同机制的制度文件（填表说明 13）",
    "evidence.notice_missing": "缺文件或通知（填表说明 14）",
    "evidence.publication_missing": "缺发布链接或截图",
    "listing.other_level": "挂牌督办的级别与本栏不同"
    "（部门挂牌督办只计部门挂牌的，政府挂牌督办只计镇街或政府挂牌的）",
    "corrected.date_outside_period": "报送期限前的版本日期在统计区间外，后来的更正才改入区间"
    "（计入更正后日期所在的期间）",
}
VISIT_LABELS = {"inspection": "检查记录", "reinspection": "复查记录"}


def _reason(item: dict[str, Any]) -> str:
    return REASONS.get(item.get("reason") or "", item.get("reason_text") or "")


def _item_label(item: dict[str, Any]) -> str:
    """A hazard's number, a record's kind; a visit (its label is its type) in words."""
    label = str(item["label"])
    return VISIT_LABELS.get(label, label) if item["type"] in VISIT_LABELS else label


def _params(values: Any) -> dict[str, Any]:
    """The report asked for: template, unit, period (as_of, or from/to, or month)."""
    template = values.get("template") or "licheng"
    if template not in TEMPLATES:
        raise FormError("请选择调度表模板。", {"template": "无效"})
    month = (values.get("month") or "").strip() or None
    return {
        "template": template,
        "unit": forms.uuid_of(values, "unit"),
        "month": month,
        "from_": forms.date_of(values, "from", "开始日期"),
        "to": forms.date_of(values, "to", "截止日期"),
        "as_of": forms.date_of(values, "as_of", "截至日期"),
    }


def _target(args: dict[str, Any]) -> tuple[Unit, Any, Any]:
    person = user()
    unit = scope.get_visible_unit(db(), person, args["unit"] or person.unit_id)
    t = reports.template(args["template"])
    period = reports.period_for(
        t, month=args["month"], start=args["from_"], end=args["to"], as_of=args["as_of"]
    )
    return unit, t, period


def _query(args: dict[str, Any], unit: Unit) -> dict[str, str]:
    out = {"template": args["template"], "unit": str(unit.id)}
    for key, name in (("month", "month"), ("from_", "from"), ("to", "to"), ("as_of", "as_of")):
        if args[key] is not None:
            out[name] = str(args[key])
    return out


def _header(t: Any) -> list[list[dict[str, Any]]]:
    """The printed header rows: each cell once, with its colspan and rowspan."""
    depth = t.header_rows
    rows: list[list[dict[str, Any]]] = []
    for r in range(depth):
        line = []
        for cell in t.header_cells(r):
            if cell.continued:
                continue
            bottom = r
            while bottom + 1 < depth and any(
                c.continued and (c.first, c.last) == (cell.first, cell.last)
                for c in t.header_cells(bottom + 1)
            ):
                bottom += 1
            line.append(
                {
                    "text": cell.text,
                    "colspan": cell.last - cell.first + 1,
                    "rowspan": bottom - r + 1,
                }
            )
        rows.append(line)
    return rows


def _form_items(t: Any, columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The printed form: each block's numbered items two to a line, as the seeds print them
    (an item with two values, 行政处罚（次，万元）, is one item of two columns)."""
    blocks: dict[str, list[dict[str, Any]]] = {}
    for col in columns:
        items = blocks.setdefault(col.get("block") or "", [])
        if items and (items[-1]["number"], items[-1]["label"]) == (col["number"], col["label"]):
            items[-1]["columns"].append(col)
        else:
            items.append({"number": col["number"], "label": col["label"], "columns": [col]})
    return [
        {"block": block, "lines": [items[i : i + 2] for i in range(0, len(items), 2)]}
        for block, items in blocks.items()
    ]


def _column_label(t: Any, key: str) -> str:
    """A column as a person finds it on the printed form: its headings, or block, number, label
    (and the unit, where one item prints two values)."""
    col = t.column(key)
    if col.heading:
        return "／".join(h for h in col.heading if h)
    twin = any(c.key != key and (c.block, c.number) == (col.block, col.number) for c in t.columns)
    unit = f"（{col.unit}）" if twin and col.unit else ""
    return f"{col.block} {col.number}. {col.label}{unit}"


def _filings(t: Any, state: dict[str, Any], total_label: str) -> list[dict[str, Any]]:
    """The unit's filings, oldest first, with the names of 填表人 and 审核人 and, for a
    restatement, each figure that changed from the version before (`filing.differences`)."""
    ids = {uuid.UUID(f[k]) for f in state["filings"] for k in ("preparer_id", "reviewer_id")}
    names = {str(u.id): u.display_name for u in db().scalars(select(User).where(User.id.in_(ids)))}
    out = []
    for f in state["filings"]:
        changes = [
            {
                "row": d["row"] or total_label,
                "column": _column_label(t, d["column"]),
                "before": d["before"],
                "after": d["after"],
            }
            for d in f["differences"]
        ]
        out.append(
            {
                **f,
                "preparer": names.get(f["preparer_id"], "—"),
                "reviewer": names.get(f["reviewer_id"], "—"),
                "changes": changes,
            }
        )
    return out


def _lines(report: Any, lines: tuple[str, ...], last: dict[str, Any] | None) -> list[str]:
    """The printed header and footer lines, filled as the workbook fills them; with the names
    and date of the latest filing once there is one."""
    names: dict[str, str] = {}
    if last is not None:
        filed = datetime.fromisoformat(last["filed_at"]).astimezone(CHINA).date()
        names = {
            "filed_cn": workbook.cn_date(filed),
            "preparer": last["preparer"],
            "reviewer": last["reviewer"],
        }
    return [workbook.fill_line(line, report, names) for line in lines]


def _units() -> list[Unit]:
    return list(db().scalars(select(Unit).where(scope.visible_units(user())).order_by(Unit.path)))


def _page(values: Any, status: int = 200, error: str | None = None) -> Any:
    context: dict[str, Any] = {
        "title": "调度表",
        "units": _units(),
        "templates": TEMPLATES,
        "reason": _reason,
        "item_label": _item_label,
    }
    context["args"] = values
    body = None
    try:
        args = _params(values)
        unit, t, period = _target(args)
        report = reports.compute(db(), t, unit, period, items=False)
        body = render.report(report)
        state = filing.status(db(), t, unit, period)
        filed = _filings(t, state, body["total_label"])
        query = _query(args, unit)
        people = db().scalars(
            select(User).where(User.unit_id == unit.id, User.active).order_by(User.username)
        )
        context.update(
            t=t,
            r=body,
            unit=unit,
            query=query,
            header=_header(t) if t.layout == "table" else [],
            blocks=_form_items(t, body["columns"]) if t.layout == "form" else [],
            filings=state,
            filed=filed,
            header_lines=_lines(report, t.header_lines, filed[-1] if filed else None),
            footer_lines=_lines(report, t.footer_lines, filed[-1] if filed else None),
            preparers=list(people),
            may_file=user().role is Role.supervisor and user().unit_id == unit.id,
        )
    except FormError as exc:
        error, status = exc.message, 422
    except DomainError as exc:
        code_status, _code = code_of(exc)
        if code_status == 404:
            raise
        error, status = message_of(exc) + _detail(exc), code_status
    context.update(error=error, form=request.form)
    return render_template("console/report.html", **context), status


def _detail(exc: DomainError) -> str:
    code = exc.code
    if code == "report.period_invalid":
        return "（请按模板填写统计区间：荔城填开始与截止日期，其余填所报月份或截至日期。）"
    return ""


@blp.route("/reports")
@signed_in(*ALL_ROLES)
def reports_page() -> Any:
    """调度表: pick template, unit and period; the report as printed, warnings, filings."""
    if not request.args:
        return render_template(
            "console/report.html",
            title="调度表",
            units=_units(),
            templates=TEMPLATES,
            args={"template": "licheng", "from": "", "to": ""},
            r=None,
            error=None,
            form={},
        )
    return _page(request.args)


@blp.route("/reports/cell")
@signed_in(*ALL_ROLES)
def reports_cell() -> Any:
    """The records behind one figure, each with its evidence completeness."""
    try:
        args = _params(request.args)
    except FormError as exc:
        return render_template("console/error.html", title="请求有误", message=exc.message), 422
    unit, t, period = _target(args)
    key = reports.column_key(t, request.args.get("column", ""))
    report = reports.compute(db(), t, unit, period)
    row = forms.uuid_of(request.args, "row")
    if row is not None and row not in {r.unit_id for r in report.rows}:
        raise reports.RowUnknown("Not a row of this report.")
    cell = render.cell(report, key, row)
    row_name = next((r.name for r in report.rows if r.unit_id == row), None)
    return render_template(
        "console/report_cell.html",
        title="调度表数据来源",
        c=cell,
        t=t,
        unit=unit,
        row_name=row_name or (t.total_label or "合计"),
        query=_query(args, unit),
        types=TYPE_LABELS,
        link=_link,
        reason=_reason,
        item_label=_item_label,
    )


def _link(item: dict[str, Any]) -> str | None:
    if item["type"] == "hazard":
        return url_for("console.hazard", hazard_id=item["id"])
    if item["type"] in ("inspection", "reinspection"):
        return url_for("console.record", inspection_id=item["id"])
    return None


@blp.route("/reports/xlsx")
@signed_in(*ALL_ROLES)
def reports_xlsx() -> Any:
    """The workbook: the same bytes as GET /api/v1/reports/dispatch?format=xlsx."""
    try:
        args = _params(request.args)
    except FormError as exc:
        return render_template("console/error.html", title="请求有误", message=exc.message), 422
    unit, t, period = _target(args)
    return reports_api.spreadsheet(reports.compute(db(), t, unit, period, items=False))


@blp.route("/reports/filings", methods=["POST"])
@signed_in(*ALL_ROLES)
def reports_file() -> Any:
    """File the unit's report: the caller (a supervisor of the unit) is 审核人."""
    form = request.form
    try:
        args = _params(form)
        unit, t, period = _target(args)
        preparer = forms.uuid_of(form, "preparer_id")
        if preparer is None:
            raise FormError("请选择填表人。", {"preparer_id": "必填"})
        filed = filing.file(
            db(),
            user(),
            t,
            unit,
            period,
            preparer_id=preparer,
            reason=forms.text(form, "reason", limit=2000),
        )
    except FormError as exc:
        db().rollback()
        return _page(form, 422, exc.message)
    except DomainError as exc:
        status, _code = code_of(exc)
        if status == 404:
            raise
        db().rollback()
        return _page(form, status, message_of(exc))
    flash(f"已报送第 {filed.version} 版（{'按时' if filed.on_time else '迟报'}）。")
    return redirect(url_for("console.reports_page", **_query(args, unit)))
