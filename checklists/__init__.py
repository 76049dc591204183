"""Checklists: what the inspector answers and what the answers mean.

Framework-free: item model and polarity, clause logic for major-hazard determination, and the
loader/validator for the versioned data files under ``checklists/data``.
"""

from checklists.errors import ChecklistError, ChecklistFileError, InvalidAnswer, UnknownItem
from checklists.expr import AllOf, AnyOf, Expr, Not
from checklists.loader import DATA_DIR, load_directory, load_file
from checklists.model import (
    ANSWERS,
    Answer,
    ChecklistSource,
    ChecklistVersion,
    DefectAnswer,
    Evaluation,
    Fact,
    Item,
    Level,
    RecordField,
    Rule,
    RuleSource,
)

__all__ = [
    "ANSWERS",
    "DATA_DIR",
    "AllOf",
    "Answer",
    "AnyOf",
    "ChecklistError",
    "ChecklistFileError",
    "ChecklistSource",
    "ChecklistVersion",
    "DefectAnswer",
    "Evaluation",
    "Expr",
    "Fact",
    "InvalidAnswer",
    "Item",
    "Level",
    "Not",
    "RecordField",
    "Rule",
    "RuleSource",
    "UnknownItem",
    "load_directory",
    "load_file",
]
