"""Clause logic: boolean trees over item codes.

A determination-standard clause is written as a tree. In data files and in the API it is plain
JSON-like values::

    "construction.33"                       # true iff that item or sub-check is a defect
    {"all": [expr, ...]}                    # every branch true (non-empty)
    {"any": [expr, ...]}                    # at least one branch true (non-empty)
    {"not": expr}                           # the branch is false

In memory the tree is immutable (:class:`AllOf`, :class:`AnyOf`, :class:`Not` and ``str``
leaves), so rules and the checklist versions holding them stay hashable and cannot be edited
after loading.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass
from typing import TypeAlias

OPERATORS = ("all", "any", "not")


@dataclass(frozen=True)
class AllOf:
    """True when every term is true."""

    terms: tuple[Expr, ...]


@dataclass(frozen=True)
class AnyOf:
    """True when at least one term is true."""

    terms: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    """True when its term is false."""

    term: Expr


Expr: TypeAlias = str | AllOf | AnyOf | Not
"""A clause tree; a ``str`` leaf is an item or sub-check code."""

PlainExpr: TypeAlias = str | dict[str, "PlainExpr | list[PlainExpr]"]
"""The same tree as plain dicts, lists and strings (data files, JSON)."""


class ExprSyntaxError(ValueError):
    """A plain value is not a well-formed clause tree."""


def parse(value: object) -> Expr:
    """Build a tree from its plain form; raise :class:`ExprSyntaxError` if it is malformed."""
    if isinstance(value, str):
        if not value:
            raise ExprSyntaxError("an expr leaf must be a non-empty item code")
        return value
    if not isinstance(value, Mapping):
        raise ExprSyntaxError(
            f"an expr must be an item code or a table with one of {', '.join(OPERATORS)};"
            f" got {type(value).__name__}"
        )
    if len(value) != 1:
        keys = ", ".join(repr(k) for k in value) or "nothing"
        raise ExprSyntaxError(f"an expr table needs exactly one operator, got {keys}")
    ((operator, operand),) = value.items()
    if operator == "not":
        return Not(parse(operand))
    if operator in ("all", "any"):
        if not isinstance(operand, list) or not operand:
            raise ExprSyntaxError(f"'{operator}' needs a non-empty list of exprs")
        terms = tuple(parse(term) for term in operand)
        return AllOf(terms) if operator == "all" else AnyOf(terms)
    raise ExprSyntaxError(f"unknown expr operator {operator!r}: use one of {', '.join(OPERATORS)}")


def to_plain(expr: Expr) -> PlainExpr:
    """The plain form of a tree, as the API and the data files write it."""
    if isinstance(expr, str):
        return expr
    if isinstance(expr, Not):
        return {"not": to_plain(expr.term)}
    terms: list[PlainExpr] = [to_plain(term) for term in expr.terms]
    return {"all" if isinstance(expr, AllOf) else "any": terms}


def holds(expr: Expr, defects: Set[str]) -> bool:
    """Whether the clause holds when exactly the codes in ``defects`` are defects."""
    if isinstance(expr, str):
        return expr in defects
    if isinstance(expr, Not):
        return not holds(expr.term, defects)
    if isinstance(expr, AllOf):
        return all(holds(term, defects) for term in expr.terms)
    return any(holds(term, defects) for term in expr.terms)


def codes(expr: Expr) -> Iterator[str]:
    """Every code the tree names, in order of appearance (repeats included)."""
    if isinstance(expr, str):
        yield expr
    elif isinstance(expr, Not):
        yield from codes(expr.term)
    else:
        for term in expr.terms:
            yield from codes(term)
