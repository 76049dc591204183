"""The clause catalogue: the determination standards (判定标准) a 重大事故隐患 must cite.

One data file per standard under ``checklists/standards/<code>.toml``: the standard's title,
number, issuer, the dates it is in force and the scope it binds (enterprise sectors), and its
clauses (article, item, lead-in and text exactly as printed; ``article_inferred`` where the
article number was not seen printed beside the text). A checklist rule cites a clause through
its source (standard title, article, item); a supervisor may cite any clause directly, e.g. for
a hazard found outside the three sheets.

A clause is cited only where it is *in force* on the inspection's date (``effective_from`` ≤
date < ``effective_to``) and its standard's scope covers the enterprise's sector.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from checklists.errors import ChecklistError
from checklists.model import Rule

STANDARDS_DIR = Path(__file__).resolve().parent / "standards"
"""Where the shipped standards live."""

_STANDARD_KEYS = frozenset(
    {"code", "title", "number", "issuer", "effective_from", "effective_to", "dates_inferred"}
    | {"scope", "clauses"}
)
_CLAUSE_KEYS = frozenset({"code", "article", "item", "lead", "text", "article_inferred"})


class StandardError(ChecklistError):
    """A standard's data file is malformed, or a clause is unknown."""


@dataclass(frozen=True)
class Standard:
    code: str
    title: str
    number: str
    issuer: str
    effective_from: date
    effective_to: date | None
    dates_inferred: bool
    scope_text: str
    sectors: frozenset[str]

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on < self.effective_to)

    def covers(self, sector: str) -> bool:
        return sector in self.sectors


@dataclass(frozen=True)
class Clause:
    code: str
    standard: Standard
    article: str
    item: str | None
    lead: str | None
    text: str
    article_inferred: bool

    @property
    def label(self) -> str:
        """Where it is printed, e.g. 《工贸企业重大事故隐患判定标准》第十三条（一）."""
        return f"{self.standard.title}{self.article}{self.item or ''}"

    def to_dict(self) -> dict[str, Any]:
        standard = self.standard
        return {
            "code": self.code,
            "label": self.label,
            "article": self.article,
            "item": self.item,
            "lead": self.lead,
            "text": self.text,
            "article_inferred": self.article_inferred,
            "standard": {
                "code": standard.code,
                "title": standard.title,
                "number": standard.number,
                "issuer": standard.issuer,
                "effective_from": standard.effective_from.isoformat(),
                "effective_to": standard.effective_to.isoformat()
                if standard.effective_to
                else None,
                "dates_inferred": standard.dates_inferred,
                "scope": standard.scope_text,
                "sectors": sorted(standard.sectors),
            },
        }


class Catalogue:
    """Every clause of every standard, by code."""

    def __init__(self, clauses: Iterable[Clause]) -> None:
        self.clauses: dict[str, Clause] = {}
        for clause in clauses:
            if clause.code in self.clauses:
                raise StandardError(f"duplicate clause code {clause.code!r}")
            self.clauses[clause.code] = clause
        self._by_place = {
            (c.standard.title, c.article, c.item or ""): c for c in self.clauses.values()
        }

    def get(self, code: str) -> Clause | None:
        return self.clauses.get(code)

    def for_rule(self, rule: Rule) -> Clause | None:
        """The clause a checklist rule's source names (standard title, article, item)."""
        source = rule.source
        return self._by_place.get((source.standard, source.article, source.item or ""))

    def problem(self, clause: Clause, on: date, sector: str | None) -> str | None:
        """Why ``clause`` cannot be cited for a hazard found on ``on`` in ``sector``; or None."""
        standard = clause.standard
        if not standard.in_force(on):
            until = f" until {standard.effective_to}" if standard.effective_to else ""
            return (
                f"{clause.label} is not in force on {on.isoformat()}: {standard.title} applies "
                f"from {standard.effective_from.isoformat()}{until}. Cite a clause in force on "
                "the inspection's date, or confirm the hazard as general."
            )
        if sector is not None and not standard.covers(sector):
            return (
                f"{clause.label} binds {standard.scope_text}, not an enterprise of sector "
                f"{sector!r}. Cite a clause of a standard for that sector, or confirm the hazard "
                "as general."
            )
        return None


def _date(value: object, where: str) -> date:
    if not isinstance(value, date):
        raise StandardError(f"{where} must be a TOML date (YYYY-MM-DD)")
    return value


def _text(data: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> Any:
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise StandardError(f"{where}: {key!r} must be a non-empty string")
    return value


def load_standard(path: Path) -> list[Clause]:
    """The clauses of one ``<code>.toml``; :class:`StandardError` if it is malformed."""
    data = tomllib.loads(path.read_text("utf-8"))
    where = path.name
    unknown = set(data) - _STANDARD_KEYS
    if unknown:
        raise StandardError(f"{where}: unknown fields {sorted(unknown)}")
    code = _text(data, "code", where)
    if code != path.stem:
        raise StandardError(f"{where}: code {code!r} must match the file name")
    scope = data.get("scope") or {}
    standard = Standard(
        code=code,
        title=_text(data, "title", where),
        number=_text(data, "number", where),
        issuer=_text(data, "issuer", where),
        effective_from=_date(data.get("effective_from"), f"{where}: effective_from"),
        effective_to=_date(data["effective_to"], f"{where}: effective_to")
        if "effective_to" in data
        else None,
        dates_inferred=bool(data.get("dates_inferred", True)),
        scope_text=_text(scope, "text", f"{where} [scope]"),
        sectors=frozenset(scope.get("sectors") or ()),
    )
    clauses = []
    for n, raw in enumerate(data.get("clauses") or (), start=1):
        at = f"{where} clause #{n}"
        if set(raw) - _CLAUSE_KEYS:
            raise StandardError(f"{at}: unknown fields {sorted(set(raw) - _CLAUSE_KEYS)}")
        clause_code = _text(raw, "code", at)
        if not clause_code.startswith(code + "."):
            raise StandardError(f"{at}: code {clause_code!r} must start with {code + '.'!r}")
        if not isinstance(raw.get("article_inferred"), bool):
            raise StandardError(f"{at}: say whether the article number is inferred")
        clauses.append(
            Clause(
                code=clause_code,
                standard=standard,
                article=_text(raw, "article", at),
                item=_text(raw, "item", at, optional=True),
                lead=_text(raw, "lead", at, optional=True),
                text=_text(raw, "text", at),
                article_inferred=raw["article_inferred"],
            )
        )
    if not clauses:
        raise StandardError(f"{where}: a standard needs at least one clause")
    return clauses


def load_catalogue(root: Path | str = STANDARDS_DIR) -> Catalogue:
    return Catalogue(
        clause for path in sorted(Path(root).glob("*.toml")) for clause in load_standard(path)
    )


@cache
def shipped() -> Catalogue:
    """The catalogue shipped with the package, read once per process."""
    return load_catalogue()
