"""What a checklist is and what its answers mean.

A checklist version holds printed items. Each item is a question the inspector answers
"yes" (是), "no" (否) or "na" (不涉及). Items do not all point the same way: a 有限空间 item asks
"是否…" (是 = compliant), a 建筑施工 item states the defect ("未…", 是 = the defect is present).
So every item carries its ``defect_answer`` — the answer that means a defect — and the reason
for it (``polarity_reason``), decided item by item in the data files.

Where one printed line asks several questions, the item has ``checks``: sub-checks of the same
shape whose ``text`` is the exact printed fragment that asks each question.

Fields of an item:

- ``category``: 检查类别 as printed (城镇燃气, 建筑施工, 有限空间作业).
- ``topic``: 重点检查事项 where the sheet prints it *beside* the question (建筑施工: 有限空间作业,
  施工临时用电, …); ``None`` where 重点检查事项 *is* the question (燃气, 有限空间作业).
- ``text``: the question the inspector answers, exactly as printed (燃气 and 有限空间作业: the
  重点检查事项 cell; 建筑施工: the 检查内容 cell).
- ``detail``: reserved for explanatory 检查内容 printed separately from an item's question. None
  of the shipped sheets has that — 建筑施工's 检查内容 *is* its question, so it is ``text`` and
  ``detail`` is ``None`` — but the field keeps the API shape stable for sheets that do.

Defect semantics (:meth:`ChecklistVersion.evaluate`):

- a code without checks is a defect iff its answer equals its ``defect_answer``;
- an item with checks is a defect iff any of its checks is a defect, or — when none of its
  checks is answered — its own answer equals its ``defect_answer`` (a tablet that shows only
  the printed tick box answers the parent alone);
- answering an item "na" makes the item and all its checks not applicable: none is a defect;
- an unanswered code is not a defect.

Facts (:class:`Fact`) are what a clause needs that the sheet does not print (中毒风险; a
certificate never obtained versus one not renewed): answered like items, "yes" = it holds, and
leaves of rules beside the defect codes. Keys added after the first versions (``facts``,
``generic``, an item's ``not_major``) appear in the content only where used, so the versions
published before them keep their ids.

A version's ``level`` is ``None`` without defects, ``"major"`` when a determination-standard
rule matches, else ``"general"``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from checklists import expr as expr_
from checklists.errors import ChecklistError, InvalidAnswer, UnknownItem
from checklists.expr import Expr

Answer = Literal["yes", "no", "na"]
"""What the inspector ticked: 是, 否, 不涉及."""

DefectAnswer = Literal["yes", "no"]
"""The answer that means a defect for one item."""

Level = Literal["major", "general"]
"""重大事故隐患 or 一般隐患."""

ANSWERS: frozenset[str] = frozenset(get_args(Answer))
DEFECT_ANSWERS: frozenset[str] = frozenset(get_args(DefectAnswer))

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class Item:
    """One printed 检查事项, or one sub-check of it."""

    code: str
    seq: str
    category: str
    topic: str | None
    text: str
    detail: str | None
    defect_answer: DefectAnswer
    polarity_reason: str
    checks: tuple[Item, ...] = ()
    not_major: str | None = None
    """Why this defect alone is not a 重大事故隐患, shown where an inspector might think it is."""

    def to_dict(self) -> JsonDict:
        """The API shape of the item, sub-checks included."""
        data: JsonDict = {
            "code": self.code,
            "seq": self.seq,
            "category": self.category,
            "topic": self.topic,
            "text": self.text,
            "detail": self.detail,
            "defect_answer": self.defect_answer,
            "polarity_reason": self.polarity_reason,
            "checks": [check.to_dict() for check in self.checks],
        }
        if self.not_major is not None:  # absent in versions published before it existed
            data["not_major"] = self.not_major
        return data


@dataclass(frozen=True)
class Fact:
    """A fact the inspector records that is not a printed line: the scope or a qualifier a
    clause needs (中毒风险; a certificate never obtained versus one not renewed).

    Answered like an item ("yes" = the fact holds, "no", or "na" = not known); in a rule it is a
    leaf that holds when answered "yes". ``about`` names the item it qualifies, if any, and
    ``source`` where its wording is printed.
    """

    code: str
    text: str
    source: str
    about: str | None = None

    def to_dict(self) -> JsonDict:
        return {"code": self.code, "text": self.text, "source": self.source, "about": self.about}


@dataclass(frozen=True)
class RuleSource:
    """Where a determination-standard clause is printed."""

    standard: str
    version: str
    article: str
    item: str | None
    title: str

    def to_dict(self) -> JsonDict:
        return {
            "standard": self.standard,
            "version": self.version,
            "article": self.article,
            "item": self.item,
            "title": self.title,
        }


@dataclass(frozen=True)
class Rule:
    """A 判定标准 clause that makes a hazard major, expressed over item codes."""

    code: str
    source: RuleSource
    text: str
    expr: Expr

    def matches(self, defects: Set[str]) -> bool:
        """Whether the clause holds for this set of defect codes."""
        return expr_.holds(self.expr, defects)

    def to_dict(self) -> JsonDict:
        """The API shape; ``expr`` as plain dicts: {"all": [...]}, {"any": [...]}, {"not": …}."""
        return {
            "code": self.code,
            "source": self.source.to_dict(),
            "text": self.text,
            "expr": expr_.to_plain(self.expr),
        }


@dataclass(frozen=True)
class ChecklistSource:
    """The document that publishes the checklist."""

    title: str
    number: str
    issuer: str

    def to_dict(self) -> JsonDict:
        return {"title": self.title, "number": self.number, "issuer": self.issuer}


@dataclass(frozen=True)
class RecordField:
    """A field printed under the sheet for the record as a whole (检查项目, 检查人员, …)."""

    key: str
    label: str

    def to_dict(self) -> JsonDict:
        return {"key": self.key, "label": self.label}


@dataclass(frozen=True)
class Evaluation:
    """What a set of answers means for one checklist version."""

    defects: tuple[str, ...]
    matched_rules: tuple[Rule, ...]
    facts: tuple[str, ...] = ()
    """Facts answered "yes"."""

    @property
    def level(self) -> Level | None:
        """``None`` without defects, ``"major"`` if a rule matched, else ``"general"``."""
        if not self.defects:
            return None
        return "major" if self.matched_rules else "general"

    def to_dict(self) -> JsonDict:
        return {
            "defects": list(self.defects),
            "matched_rules": [rule.to_dict() for rule in self.matched_rules],
            "level": self.level,
            "facts": list(self.facts),
        }


def content_version(content: Mapping[str, Any]) -> str:
    """The version id of some content: 16 hex chars of SHA-256 over its canonical JSON."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class ChecklistVersion:
    """One published version of a checklist. Never changes; an edit is a new version.

    ``version`` is derived from the content (see :func:`content_version`), so the same content
    always has the same id and any edit gets a new one.
    """

    code: str
    title: str
    sector: str
    attachment: str
    source: ChecklistSource
    label: str
    items: tuple[Item, ...]
    rules: tuple[Rule, ...] = ()
    record_fields: tuple[RecordField, ...] = ()
    facts: tuple[Fact, ...] = ()
    generic: bool = False
    """A sheet with no printed items: a hazard found in any sector is recorded on it (its
    findings name no items; a major cites a catalogue clause in review)."""
    version: str = field(init=False)
    _index: dict[str, Item] = field(init=False, repr=False, compare=False, hash=False)
    _facts: dict[str, Fact] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        index: dict[str, Item] = {}
        for code, item in _walk(self.items):
            if code in index:
                raise ChecklistError(f"duplicate item code {code!r} in checklist {self.code!r}")
            index[code] = item
        facts = {fact.code: fact for fact in self.facts}
        if len(facts) != len(self.facts) or facts.keys() & index.keys():
            raise ChecklistError(f"fact codes of checklist {self.code!r} must be unique")
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_facts", facts)
        object.__setattr__(self, "version", content_version(self.content()))

    def item(self, code: str) -> Item:
        """The item or sub-check with this code; :class:`UnknownItem` if there is none."""
        try:
            return self._index[code]
        except KeyError:
            raise UnknownItem(code) from None

    def all_codes(self) -> tuple[str, ...]:
        """Every item and sub-check code, in checklist order (an item before its checks)."""
        return tuple(self._index)

    def answerable_codes(self) -> tuple[str, ...]:
        """Every code an answer may name: items, sub-checks, then facts."""
        return (*self._index, *self._facts)

    def fact(self, code: str) -> Fact | None:
        return self._facts.get(code)

    def describe(self, code: str) -> str:
        """How a code reads to a person: "1(a) <printed text>", or a fact's text."""
        fact = self._facts.get(code)
        if fact is not None:
            return fact.text
        item = self.item(code)
        return f"{item.seq} {item.text}"

    def evaluate(self, answers: Mapping[str, Answer]) -> Evaluation:
        """Which codes are defects under ``answers`` and which rules make it major.

        Raises :class:`UnknownItem` for an answer to a code this version does not have and
        :class:`InvalidAnswer` for a value other than "yes", "no" or "na".
        """
        for code, answer in answers.items():
            if code not in self._facts:
                self.item(code)
            if answer not in ANSWERS:
                raise InvalidAnswer(code, answer)
        facts = tuple(code for code in self._facts if answers.get(code) == "yes")
        defects = tuple(_defects(self.items, answers))
        if not defects:
            return Evaluation(defects=(), matched_rules=(), facts=facts)
        found = frozenset(defects) | frozenset(facts)
        matched = tuple(rule for rule in self.rules if rule.matches(found))
        return Evaluation(defects=defects, matched_rules=matched, facts=facts)

    def content(self) -> JsonDict:
        """Everything :meth:`to_dict` returns except ``version``: what the id is derived from."""
        return {
            "code": self.code,
            "title": self.title,
            "label": self.label,
            "sector": self.sector,
            "attachment": self.attachment,
            "source": self.source.to_dict(),
            "items": [item.to_dict() for item in self.items],
            "rules": [rule.to_dict() for rule in self.rules],
            "record_fields": [record_field.to_dict() for record_field in self.record_fields],
            # Only where there are facts: versions published before facts existed keep their id.
            **({"facts": [fact.to_dict() for fact in self.facts]} if self.facts else {}),
            **({"generic": True} if self.generic else {}),
        }

    def to_dict(self) -> JsonDict:
        """The API shape of the version."""
        return {"version": self.version, **self.content()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChecklistVersion:
        """Rebuild a version from :meth:`to_dict` output (e.g. stored as JSON).

        Raises :class:`ChecklistError` if the data is malformed, if a rule names a code the
        items do not have, or if ``version`` is given and does not match the content: stored
        content that no longer hashes to its id has been altered.
        """
        try:
            version = cls(
                code=_text(data, "code"),
                title=_text(data, "title"),
                sector=_text(data, "sector"),
                attachment=_text(data, "attachment"),
                source=ChecklistSource(**_fields(data["source"], ("title", "number", "issuer"))),
                label=_text(data, "label"),
                items=tuple(_item_from_dict(item) for item in data["items"]),
                rules=tuple(_rule_from_dict(rule) for rule in data.get("rules", ())),
                record_fields=tuple(
                    RecordField(**_fields(field_, ("key", "label")))
                    for field_ in data.get("record_fields", ())
                ),
                facts=tuple(_fact_from_dict(fact) for fact in data.get("facts", ())),
                generic=bool(data.get("generic", False)),
            )
        except (KeyError, TypeError, expr_.ExprSyntaxError) as error:
            raise ChecklistError(f"malformed checklist content: {error}") from None
        for rule in version.rules:
            for code in expr_.codes(rule.expr):
                if code not in version._index and code not in version._facts:
                    raise ChecklistError(f"rule {rule.code!r} names unknown item {code!r}")
        stored = data.get("version")
        if stored is not None and stored != version.version:
            raise ChecklistError(
                f"checklist {version.code!r} content hashes to {version.version!r},"
                f" not its stored version {stored!r}: the content was altered"
            )
        return version


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise TypeError(f"{key!r} must be a string, not {type(value).__name__}")
    return value


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    return None if data.get(key) is None else _text(data, key)


def _fields(data: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, str]:
    return {key: _text(data, key) for key in keys}


def _item_from_dict(data: Mapping[str, Any]) -> Item:
    defect_answer = data["defect_answer"]
    if defect_answer not in DEFECT_ANSWERS:
        raise TypeError(f"item {data.get('code')!r}: defect_answer must be 'yes' or 'no'")
    return Item(
        code=_text(data, "code"),
        seq=_text(data, "seq"),
        category=_text(data, "category"),
        topic=_optional_text(data, "topic"),
        text=_text(data, "text"),
        detail=_optional_text(data, "detail"),
        defect_answer=defect_answer,
        polarity_reason=_text(data, "polarity_reason"),
        checks=tuple(_item_from_dict(check) for check in data.get("checks", ())),
        not_major=_optional_text(data, "not_major"),
    )


def _fact_from_dict(data: Mapping[str, Any]) -> Fact:
    return Fact(
        code=_text(data, "code"),
        text=_text(data, "text"),
        source=_text(data, "source"),
        about=_optional_text(data, "about"),
    )


def _rule_from_dict(data: Mapping[str, Any]) -> Rule:
    source = data["source"]
    return Rule(
        code=_text(data, "code"),
        source=RuleSource(
            **_fields(source, ("standard", "version", "article", "title")),
            item=_optional_text(source, "item"),
        ),
        text=_text(data, "text"),
        expr=expr_.parse(data["expr"]),
    )


def _walk(items: tuple[Item, ...]) -> Iterator[tuple[str, Item]]:
    for item in items:
        yield item.code, item
        yield from _walk(item.checks)


def _defects(items: tuple[Item, ...], answers: Mapping[str, Answer]) -> Iterator[str]:
    """Defect codes in checklist order: an item, then its defective checks."""
    for item in items:
        own = answers.get(item.code)
        if own == "na":
            continue
        if not item.checks:
            if own == item.defect_answer:
                yield item.code
            continue
        failed = list(_defects(item.checks, answers))
        answered = any(check.code in answers for check in item.checks)
        if failed or (not answered and own == item.defect_answer):
            yield item.code
        yield from failed
