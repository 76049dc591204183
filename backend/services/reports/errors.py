"""The reports' errors, each with its status and stable code (backend/errors.py)."""

from __future__ import annotations

from backend.errors import InvalidInput, NotFound


class TemplateUnknown(NotFound):
    code = "report.template_unknown"


class PeriodInvalid(InvalidInput):
    code = "report.period_invalid"


class ColumnUnknown(InvalidInput):
    code = "report.column_unknown"


class RowUnknown(InvalidInput):
    code = "report.row_unknown"
