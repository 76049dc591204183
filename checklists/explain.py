"""Saying which conditions of a clause hold, e.g. 1(a) 辨识 ✓ 1(c) 台账 ✓ 1(b) 警示标志 ✗.

Used where an inspector claims 重大 and the rule is not met: the reply names what is missing
instead of a bare "general".
"""

from __future__ import annotations

from collections.abc import Set

from checklists.expr import AllOf, AnyOf, Expr, Not
from checklists.model import ChecklistVersion, Evaluation, Rule

MET, NOT_MET = "✓", "✗"
_SHORT = 24


def rule_label(rule: Rule) -> str:
    """Where the rule's clause is printed: 《…》第十三条（一）."""
    return f"{rule.source.standard}{rule.source.article}{rule.source.item or ''}"


def conditions(rule: Rule, version: ChecklistVersion, verdict: Evaluation) -> str:
    """The rule's tree with each condition marked ✓ (holds) or ✗ (does not)."""
    held = frozenset(verdict.defects) | frozenset(verdict.facts)
    return _render(rule.expr, version, held)


def missing(rule: Rule, version: ChecklistVersion, verdict: Evaluation) -> list[str]:
    """The conditions of the rule that do not hold, as a person reads them."""
    held = frozenset(verdict.defects) | frozenset(verdict.facts)
    return [_short(version, code) for code in _leaves(rule.expr) if code not in held]


def why_not_major(rule: Rule, version: ChecklistVersion, verdict: Evaluation) -> str:
    """One sentence for a claimed 重大 whose rule is not met."""
    return (
        f"{rule_label(rule)} is not met: {conditions(rule, version, verdict)}. "
        f"Missing: {'; '.join(missing(rule, version, verdict))}. "
        "Record the missing conditions if they hold, or keep the hazard general (一般隐患)."
    )


def _render(expr: Expr, version: ChecklistVersion, held: Set[str]) -> str:
    if isinstance(expr, str):
        return f"{_short(version, expr)} {MET if expr in held else NOT_MET}"
    if isinstance(expr, Not):
        return f"not ({_render(expr.term, version, held)})"
    joined = ", ".join(_render(term, version, held) for term in expr.terms)
    return f"all of [{joined}]" if isinstance(expr, AllOf) else f"any of [{joined}]"


def _leaves(expr: Expr) -> list[str]:
    if isinstance(expr, str):
        return [expr]
    if isinstance(expr, Not):
        return []  # a negated condition is not something to record
    assert isinstance(expr, AllOf | AnyOf)
    return [leaf for term in expr.terms for leaf in _leaves(term)]


def _short(version: ChecklistVersion, code: str) -> str:
    text = version.describe(code)
    return text if len(text) <= _SHORT else text[: _SHORT - 1] + "…"
