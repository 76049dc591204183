"""The 调度表 templates: each local variant of the monthly report as data (docs/reports.md).

Framework-free like ``checklists``: the templates, their period rules and the working-day
calendar. Counting the records is ``backend.services.reports``.
"""

from reports.loader import TemplateError, load_template, load_templates
from reports.model import Column, Period, Rate, ReportingPeriod, Template

__all__ = [
    "Column",
    "Period",
    "Rate",
    "ReportingPeriod",
    "Template",
    "TemplateError",
    "load_template",
    "load_templates",
]
