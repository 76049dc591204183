"""Checking a hand-filled 调度表 (docs/report-check.md): the file in, its inconsistencies out."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.models import Role
from reports import check as report_check
from reports.check.reading import MAX_FILE_BYTES, TEXT_CONTENT_TYPES, XLSX_CONTENT_TYPE

from .context import db, login_required

blp = Blueprint(
    "report_check",
    __name__,
    url_prefix="/api/v1/reports/dispatch",
    description="调度表: checking one filled by hand",
)

_BINARY = {"schema": {"type": "string", "format": "binary"}}
TABLE_BODY = {
    "required": True,
    "description": "The filled table: an XLSX workbook, or tab-separated text (UTF-8, UTF-16 "
    "with BOM or GB18030), one row a line or a table pasted as text as seed 000 holds it",
    "content": {t: _BINARY for t in (XLSX_CONTENT_TYPE, *TEXT_CONTENT_TYPES)},
}


class CheckArgs(ma.Schema):
    template = ma.fields.String(
        validate=ma.validate.OneOf(sorted(report_check.checkable_templates())),
        metadata={"description": "the form it is (licheng …); by default whichever it is"},
    )


class InconsistencyOut(ma.Schema):
    rule = ma.fields.String(
        metadata={"description": "total, at_most, requires, not_for, not_a_number, …"}
    )
    cell = ma.fields.String(metadata={"description": "K7 in a workbook, line 153 in text"})
    row = ma.fields.String(allow_none=True, metadata={"description": "the row's unit"})
    column = ma.fields.String(allow_none=True, metadata={"description": "the column's key"})
    heading = ma.fields.String(allow_none=True, metadata={"description": "printed headings"})
    message = ma.fields.String(metadata={"description": "the arithmetic, and why it cannot be"})
    line = ma.fields.String(metadata={"description": "all of it on one line"})


class CheckOut(ma.Schema):
    template = ma.fields.String()
    title = ma.fields.String()
    sheet = ma.fields.String(
        allow_none=True, metadata={"description": "the worksheet the table is on; null for text"}
    )
    rows = ma.fields.Integer(metadata={"description": "the table's rows, its total row among them"})
    consistent = ma.fields.Boolean()
    inconsistencies = ma.fields.List(ma.fields.Nested(InconsistencyOut))


@blp.route("/check")
class DispatchCheck(MethodView):
    @login_required(Role.supervisor, Role.admin)
    @blp.arguments(CheckArgs, location="query")
    @blp.doc(requestBody=TABLE_BODY)
    @blp.response(200, CheckOut)
    @blp.alt_response(
        413, description="report_check.too_large, request.too_large: no 调度表 is that large"
    )
    @blp.alt_response(
        422,
        description="report_check.unreadable: not a table; report_check.wrong_template: "
        "another form; validation.invalid: an unknown template",
    )
    def post(self, args: dict[str, Any]) -> Any:
        """Check a hand-filled 调度表: every inconsistency its figures prove, with cell and sums"""
        db().commit()  # authentication only read: hold no transaction while the body arrives
        if (request.content_length or 0) > MAX_FILE_BYTES:
            raise report_check.TooLarge(
                f"The file is {request.content_length:,} bytes; a 调度表 is far smaller (at most "
                f"{MAX_FILE_BYTES:,} bytes are read)."
            )
        request.max_content_length = MAX_FILE_BYTES
        result = report_check.check_file("The file", request.get_data(), args.get("template"))
        return {
            "template": result.template.id,
            "title": result.template.title,
            "sheet": result.sheet,
            "rows": result.rows,
            "consistent": not result.findings,
            "inconsistencies": [
                {
                    "rule": f.rule,
                    "cell": f.where,
                    "row": f.row,
                    "column": f.column,
                    "heading": f.heading,
                    "message": f.message,
                    "line": f.line(),
                }
                for f in result.findings
            ],
        }
