"""The 调度表 reports: a template's figures for a unit and a period, and the records behind one
figure (docs/reports.md)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import marshmallow as ma
from flask import Response
from flask.views import MethodView

from backend.services import reports, scope
from backend.services.reports import filing, render, workbook

from .context import current_user, db, login_required
from .parsing import Blueprint
from .schemas import String

blp = Blueprint(
    "reports",
    __name__,
    url_prefix="/api/v1/reports",
    description="调度表 reports from the records (docs/reports.md)",
)

TEMPLATES = ["licheng", "fuzhou", "haicheng", "quanzhou"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_CONTENT = {
    "application/json": {"schema": {"$ref": "#/components/schemas/Dispatch"}},
    XLSX: {"schema": {"type": "string", "format": "binary"}},
}
MONTH = ma.validate.Regexp(r"^20[0-9]{2}-(0[1-9]|1[0-2])$", error="Must be YYYY-MM.")


class DispatchQuery(ma.Schema):
    template = String(required=True, validate=ma.validate.OneOf(TEMPLATES))
    unit = ma.fields.UUID(
        load_default=None, metadata={"description": "Default the caller's unit; rows per sub-unit"}
    )
    month = String(
        load_default=None, validate=MONTH, metadata={"description": "Monthly templates: YYYY-MM"}
    )
    from_ = ma.fields.Date(
        data_key="from", load_default=None, metadata={"description": "Interval templates"}
    )
    to = ma.fields.Date(load_default=None, metadata={"description": "Interval templates"})
    as_of = ma.fields.Date(
        load_default=None,
        metadata={"description": "The month containing it, or the campaign's start to it"},
    )


class DispatchFormat(DispatchQuery):
    format = String(
        load_default="json",
        validate=ma.validate.OneOf(["json", "xlsx"]),
        metadata={"description": "xlsx: the workbook laid out like the printed form"},
    )


class CellQuery(DispatchQuery):
    column = String(required=True, validate=ma.validate.Length(min=1, max=80))
    row = ma.fields.UUID(
        load_default=None, metadata={"description": "A row's unit id; default the total"}
    )


class ReportItemSchema(ma.Schema):
    type = ma.fields.String(metadata={"description": "hazard | inspection | reinspection | record"})
    id = ma.fields.String()
    label = ma.fields.String()
    unit_id = ma.fields.String()
    day = ma.fields.String()
    value = ma.fields.Raw()
    counted = ma.fields.Boolean()
    reason = ma.fields.String(allow_none=True)
    reason_text = ma.fields.String(allow_none=True)
    late = ma.fields.Boolean(metadata={"description": "entered after the due day (迟报)"})
    version = ma.fields.Integer(allow_none=True, metadata={"description": "the record version"})
    evidence = ma.fields.Dict()


class ReportRowSchema(ma.Schema):
    unit_id = ma.fields.String()
    name = ma.fields.String()
    kind = ma.fields.String()
    values = ma.fields.Dict(metadata={"description": "column key -> figure; null: not reported"})


class ReportRateSchema(ma.Schema):
    key = ma.fields.String()
    label = ma.fields.String()
    value = ma.fields.String(allow_none=True, metadata={"description": "%; null when 0/0"})


class DispatchSchema(ma.Schema):
    template = ma.fields.Dict()
    unit = ma.fields.Dict()
    period = ma.fields.Dict()
    late_policy = ma.fields.String()
    columns = ma.fields.List(ma.fields.Dict())
    rows = ma.fields.List(ma.fields.Nested(ReportRowSchema))
    total_label = ma.fields.String()
    total = ma.fields.Dict(metadata={"description": "the sum of the rows"})
    rates = ma.fields.List(ma.fields.Nested(ReportRateSchema))
    excluded = ma.fields.List(ma.fields.Nested(ReportItemSchema))
    late = ma.fields.List(ma.fields.Nested(ReportItemSchema))
    warnings = ma.fields.List(
        ma.fields.Dict(), metadata={"description": "what to look at before filing: code, message"}
    )


class CellSchema(ma.Schema):
    column = ma.fields.Dict()
    row = ma.fields.String(allow_none=True)
    value = ma.fields.Raw()
    items = ma.fields.List(ma.fields.Nested(ReportItemSchema))
    excluded = ma.fields.List(ma.fields.Nested(ReportItemSchema))
    evidence = ma.fields.Dict()


def _report(args: dict[str, Any], *, items: bool) -> reports.Report:
    user, session = current_user(), db()
    unit = scope.get_visible_unit(session, user, args["unit"] or user.unit_id)
    template = reports.template(args["template"])
    period = reports.period_for(
        template, month=args["month"], start=args["from_"], end=args["to"], as_of=args["as_of"]
    )
    return reports.compute(session, template, unit, period, items=items)


@blp.route("/dispatch")
class Dispatch(MethodView):
    @login_required()
    @blp.arguments(DispatchFormat, location="query")
    @blp.response(200, DispatchSchema)
    @blp.doc(responses={"200": {"description": "OK", "content": EXPORT_CONTENT}})
    def get(self, args: dict[str, Any]) -> Any:
        """A 调度表: a row per sub-unit and the total, as of the period's cut-off"""
        report = _report(args, items=False)
        if args["format"] == "xlsx":
            return spreadsheet(report)
        return render.report(report)


@blp.route("/dispatch/cell")
class DispatchCell(MethodView):
    @login_required()
    @blp.arguments(CellQuery, location="query")
    @blp.response(200, CellSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The records behind one figure of a 调度表, with their evidence"""
        template = reports.template(args["template"])
        key = reports.column_key(template, args["column"])
        report = _report(args, items=True)
        if args["row"] is not None and args["row"] not in {r.unit_id for r in report.rows}:
            raise reports.RowUnknown(
                f"The report of {report.unit.name} has no row {args['row']}.",
                errors={"row": ["Not a row of this report."]},
            )
        return render.cell(report, key, args["row"])


class FilingBody(ma.Schema):
    template = String(required=True, validate=ma.validate.OneOf(TEMPLATES))
    unit = ma.fields.UUID(load_default=None, metadata={"description": "Default the caller's unit"})
    month = String(load_default=None, validate=MONTH)
    from_ = ma.fields.Date(data_key="from", load_default=None)
    to = ma.fields.Date(load_default=None)
    as_of = ma.fields.Date(load_default=None)
    preparer_id = ma.fields.UUID(
        required=True, metadata={"description": "填表人: a user of the unit"}
    )
    reason = String(
        load_default=None,
        validate=ma.validate.Length(max=2000),
        metadata={"description": "Required when filing again (a restatement)"},
    )


class FilingSchema(ma.Schema):
    id = ma.fields.String()
    template = ma.fields.String()
    unit_id = ma.fields.String()
    from_ = ma.fields.String(data_key="from")
    to = ma.fields.String()
    version = ma.fields.Integer()
    sha256 = ma.fields.String(metadata={"description": "of the figures and cells, canonical JSON"})
    preparer_id = ma.fields.String(metadata={"description": "填表人"})
    reviewer_id = ma.fields.String(metadata={"description": "审核人"})
    filed_at = ma.fields.String()
    due = ma.fields.String(allow_none=True)
    on_time = ma.fields.Boolean()
    status = ma.fields.String(metadata={"description": "按时 | 迟报"})
    reason = ma.fields.String(allow_none=True)
    differences = ma.fields.List(ma.fields.Dict())
    figures = ma.fields.Dict()


class FilingChild(ma.Schema):
    unit_id = ma.fields.String()
    name = ma.fields.String()
    filed = ma.fields.Boolean()
    version = ma.fields.Integer(allow_none=True)
    on_time = ma.fields.Boolean(allow_none=True)


class FilingStatus(ma.Schema):
    filings = ma.fields.List(ma.fields.Nested(FilingSchema))
    children = ma.fields.List(ma.fields.Nested(FilingChild))
    missing = ma.fields.List(ma.fields.String(), metadata={"description": "children not filed"})


def _target(args: dict[str, Any]) -> tuple[Any, Any, Any]:
    user, session = current_user(), db()
    unit = scope.get_visible_unit(session, user, args["unit"] or user.unit_id)
    template = reports.template(args["template"])
    period = reports.period_for(
        template, month=args["month"], start=args["from_"], end=args["to"], as_of=args["as_of"]
    )
    return unit, template, period


@blp.route("/filings")
class Filings(MethodView):
    @login_required()
    @blp.arguments(DispatchQuery, location="query")
    @blp.response(200, FilingStatus)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """A unit's filings for a period, and which of its children have not filed"""
        unit, template, period = _target(args)
        return filing.status(db(), template, unit, period)

    @login_required()
    @blp.arguments(FilingBody)
    @blp.response(201, FilingSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """File the unit's 调度表 for a period (a supervisor, as 审核人); again: a restatement"""
        unit, template, period = _target(args)
        filed = filing.file(
            db(),
            current_user(),
            template,
            unit,
            period,
            preparer_id=args["preparer_id"],
            reason=args["reason"],
        )
        return filing.view(filed)


def spreadsheet(report: reports.Report) -> Response:
    """The 调度表 workbook as a download named for its template, unit and cut-off (the console
    sends the same)."""
    name = f"{report.template.title}-{report.unit.name}-{report.period.cutoff}.xlsx"
    return Response(
        workbook.build(report),
        mimetype=XLSX,
        headers={
            "Content-Disposition": f"attachment; filename=dispatch-{report.template.id}"
            f"-{report.period.cutoff}.xlsx; filename*=UTF-8''{quote(name)}"
        },
    )
