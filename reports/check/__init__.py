"""Checking a hand-filled 调度表 (issue 13, item 8): every inconsistency its figures prove.

``check_file`` reads the file (``reading``), finds the template's table in it (``table``) and
lists what breaks the relations of the template's ``[checks]`` (``checks``): each finding names
the cell and gives the arithmetic. docs/report-check.md describes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from reports.loader import TemplateError, load_template, load_templates
from reports.model import Template

from .checks import Finding, check, load_checks
from .reading import TooLarge, UnreadableTable, read
from .table import Table, WrongTemplate, find

__all__ = [
    "CheckResult",
    "Finding",
    "TooLarge",
    "UnknownTemplate",
    "UnreadableTable",
    "WrongTemplate",
    "check_file",
    "checkable_templates",
]


class UnknownTemplate(LookupError):
    """No template of that id, or none that can be checked."""


@dataclass(frozen=True)
class CheckResult:
    template: Template
    sheet: str | None  # the worksheet the table was found in; None for text
    rows: int  # the table's rows, its total row among them
    findings: list[Finding]


def checkable_templates() -> dict[str, Template]:
    """The templates whose file has a [checks] table: those a filled table can be checked
    against."""
    found = {}
    for template_id, template in load_templates().items():
        try:
            load_checks(template)
        except TemplateError:
            continue
        found[template_id] = template
    return found


def check_file(name: str, data: bytes, template_id: str | None = None) -> CheckResult:
    """Read a filled table and check it against a template, or against whichever checkable
    template it turns out to be."""
    templates = _templates(template_id)
    book = read(name, data)
    reasons: list[str] = []
    for template in templates:
        for sheet in book.sheets:
            try:
                table = find(template, sheet)
            except WrongTemplate as exc:
                reasons.append(str(exc))
                continue
            return _check(table)
    if len(reasons) == 1 or template_id is not None:
        raise WrongTemplate(reasons[0] if reasons else f"{name} holds no sheet with a table.")
    raise WrongTemplate(
        f"{name} is none of the forms that can be checked ("
        + ", ".join(f"{t.id}: {t.title}" for t in templates)
        + "). "
        + " ".join(reasons)
    )


def _templates(template_id: str | None) -> list[Template]:
    checkable = checkable_templates()
    if template_id is None:
        return list(checkable.values())
    if template_id in checkable:
        return [checkable[template_id]]
    try:
        load_template(template_id)
    except TemplateError:
        pass
    else:
        raise UnknownTemplate(
            f"Template {template_id!r} has no checks yet; these can be checked: "
            + ", ".join(sorted(checkable))
            + "."
        )
    raise UnknownTemplate(
        f"No template {template_id!r}; these can be checked: " + ", ".join(sorted(checkable)) + "."
    )


def _check(table: Table) -> CheckResult:
    findings = check(table, load_checks(table.template))
    sheet = table.sheet.name if table.sheet.layout == "xlsx" else None
    return CheckResult(table.template, sheet, len(table.rows), findings)
