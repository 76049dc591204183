"""Version 1 of the inspection commands: argument validation and the rules they follow.

`inspection.save@1` carries the whole inspection as the tablet holds it. Structure is checked
first (`parse_save`), then the answers against the checklist version the inspection pins
(`check_against`), even when newer versions exist.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import marshmallow as ma
from marshmallow import validate

from checklists import ChecklistVersion, Evaluation, Item, Rule
from checklists import expr as rule_expr
from sync.protocol import CommandRejected

KINDS: dict[str, str] = {
    "department_inspection": "部门检查",
    "self_inspection": "企业自查",
    "supervisory_inspection": "督导检查",
    "assistance_visit": "帮扶指导",
}
KIND_BY_LABEL = {label: code for code, label in KINDS.items()}
SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="Must be a lowercase hex SHA-256.")
TEXT = validate.Length(max=4000)
SHORT = validate.Length(min=1, max=200)


class _Base(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class _Ref(_Base):
    code = ma.fields.String(required=True, validate=SHORT)
    version = ma.fields.String(required=True, validate=SHORT)


class _Location(_Base):
    lat = ma.fields.Float(required=True, validate=validate.Range(-90, 90))
    lon = ma.fields.Float(required=True, validate=validate.Range(-180, 180))
    accuracy_m = ma.fields.Float(load_default=None, validate=validate.Range(min=0))


class _Inspector(_Base):
    name = ma.fields.String(required=True, validate=SHORT)
    user_id = ma.fields.UUID(load_default=None)


class _Answer(_Base):
    item = ma.fields.String(required=True, validate=SHORT)
    answer = ma.fields.String(required=True, validate=validate.OneOf(["yes", "no", "na"]))
    note = ma.fields.String(load_default=None, allow_none=True, validate=TEXT)


class _Deadline(ma.fields.Field[date | str]):
    """A date, or the word `immediate` (立即整改)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date | str:
        if value == "immediate":
            return "immediate"
        try:
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            raise ma.ValidationError("Use a date (YYYY-MM-DD) or 'immediate'.") from None


class _Finding(_Base):
    id = ma.fields.UUID(required=True)
    items = ma.fields.List(ma.fields.String(validate=SHORT), load_default=list)
    description = ma.fields.String(load_default=None, allow_none=True, validate=TEXT)
    requirement = ma.fields.String(load_default=None, allow_none=True, validate=TEXT)
    deadline = _Deadline(load_default=None, allow_none=True)
    claimed_level = ma.fields.String(
        load_default="general", validate=validate.OneOf(["general", "major"])
    )
    photos = ma.fields.List(ma.fields.String(validate=SHA256), load_default=list)


class _Photo(_Base):
    sha256 = ma.fields.String(required=True, validate=SHA256)
    item = ma.fields.String(load_default=None, allow_none=True, validate=SHORT)
    caption = ma.fields.String(load_default=None, allow_none=True, validate=TEXT)
    taken_at = ma.fields.AwareDateTime(load_default=None, allow_none=True)


class _Signature(_Base):
    role = ma.fields.String(required=True, validate=SHORT)
    name = ma.fields.String(required=True, validate=SHORT)
    sha256 = ma.fields.String(required=True, validate=SHA256)


class _Save(_Base):
    id = ma.fields.UUID(required=True)
    checklist = ma.fields.Nested(_Ref, required=True)
    enterprise_id = ma.fields.UUID(required=True)
    kind = ma.fields.String(required=True)
    started_at = ma.fields.AwareDateTime(load_default=None, allow_none=True)
    finished_at = ma.fields.AwareDateTime(load_default=None, allow_none=True)
    location = ma.fields.Nested(_Location, load_default=None, allow_none=True)
    inspectors = ma.fields.List(
        ma.fields.Nested(_Inspector), load_default=list, validate=validate.Length(max=20)
    )
    answers = ma.fields.List(
        ma.fields.Nested(_Answer), load_default=list, validate=validate.Length(max=1000)
    )
    findings = ma.fields.List(
        ma.fields.Nested(_Finding), load_default=list, validate=validate.Length(max=200)
    )
    photos = ma.fields.List(
        ma.fields.Nested(_Photo), load_default=list, validate=validate.Length(max=500)
    )
    signatures = ma.fields.List(
        ma.fields.Nested(_Signature), load_default=list, validate=validate.Length(max=20)
    )


class _Submit(_Base):
    id = ma.fields.UUID(required=True)


@dataclass(frozen=True)
class InspectionSave:
    id: uuid.UUID
    checklist_code: str
    checklist_version: str
    enterprise_id: uuid.UUID
    kind: str
    started_at: datetime | None
    finished_at: datetime | None
    location: dict[str, Any] | None
    inspectors: list[dict[str, Any]]
    answers: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    photos: list[dict[str, Any]]
    signatures: list[dict[str, Any]]

    def media(self) -> set[str]:
        """Every photo and signature hash the inspection references."""
        hashes = {p["sha256"] for p in self.photos} | {s["sha256"] for s in self.signatures}
        for finding in self.findings:
            hashes.update(finding["photos"])
        return hashes


def _load(schema: ma.Schema, args: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return dict(schema.load(args))
    except ma.ValidationError as exc:
        fields = ", ".join(_paths(exc.messages))
        raise CommandRejected(
            "command.invalid", f"Fix these arguments: {fields}.", {"args": exc.messages}
        ) from None


def _paths(messages: Any, prefix: str = "") -> list[str]:
    if not isinstance(messages, dict):
        return [prefix or "args"]
    paths: list[str] = []
    for key, value in messages.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        paths.extend(_paths(value, path) if isinstance(value, dict) else [path])
    return paths


def parse_save(args: Mapping[str, Any]) -> InspectionSave:
    data = _load(_Save(), args)
    kind = KIND_BY_LABEL.get(data["kind"], data["kind"])
    if kind not in KINDS:
        raise CommandRejected(
            "inspection.kind_unknown",
            f"Unknown kind {data['kind']!r}; use one of {', '.join(KINDS)} "
            f"({', '.join(KINDS.values())}).",
            {"args": {"kind": ["Unknown kind."]}},
        )
    _check_findings(data["findings"])
    _check_unique(data["findings"], "id", "findings")
    _check_unique(data["answers"], "item", "answers")
    return InspectionSave(
        id=data["id"],
        checklist_code=data["checklist"]["code"],
        checklist_version=data["checklist"]["version"],
        enterprise_id=data["enterprise_id"],
        kind=kind,
        started_at=data["started_at"],
        finished_at=data["finished_at"],
        location=data["location"],
        inspectors=data["inspectors"],
        answers=data["answers"],
        findings=data["findings"],
        photos=data["photos"],
        signatures=data["signatures"],
    )


def parse_submit(args: Mapping[str, Any]) -> uuid.UUID:
    return _load(_Submit(), args)["id"]  # type: ignore[no-any-return]


def _check_findings(findings: list[dict[str, Any]]) -> None:
    missing = [str(n) for n, f in enumerate(findings) if not (f["description"] or "").strip()]
    if missing:
        raise CommandRejected(
            "finding.description_missing",
            "Every finding needs a description (隐患描述); missing on finding "
            f"{', '.join(missing)}.",
            {"args": {"findings": {n: {"description": ["Required."]} for n in missing}}},
        )


def _check_unique(rows: list[dict[str, Any]], key: str, name: str) -> None:
    counts = Counter(r[key] for r in rows)
    repeated = sorted(str(value) for value, n in counts.items() if n > 1)
    if repeated:
        raise CommandRejected(
            "command.invalid",
            f"Each {key} may appear once in {name}; repeated: {', '.join(repeated)}.",
            {"args": {name: [f"Repeated {key} {r}." for r in repeated]}},
        )


def check_against(save: InspectionSave, version: ChecklistVersion) -> Evaluation:
    """Answers and findings must name items of the pinned version; return its verdict."""
    codes = set(version.all_codes())
    unknown = sorted({a["item"] for a in save.answers} - codes)
    unknown += sorted({i for f in save.findings for i in f["items"]} - codes - set(unknown))
    unknown += sorted({p["item"] for p in save.photos if p["item"]} - codes - set(unknown))
    if unknown:
        raise CommandRejected(
            "checklist.unknown_item",
            f"Checklist {version.code} version {version.version} has no item "
            f"{', '.join(unknown)}. Answer the items of the version the inspection pins.",
            {"args": {"answers": [f"Unknown item {code}." for code in unknown]}},
        )
    return version.evaluate({a["item"]: a["answer"] for a in save.answers})


def suggest(finding: Mapping[str, Any], verdict: Evaluation) -> tuple[str, Rule | None]:
    """The level the rules suggest for one finding, and the matched rule that made it major."""
    for rule in verdict.matched_rules:
        if any(
            _related(leaf, item) for leaf in rule_expr.codes(rule.expr) for item in finding["items"]
        ):
            return "major", rule
    return "general", None


def _related(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def missing_for_submit(
    save: InspectionSave, version: ChecklistVersion, verdict: Evaluation
) -> list[str]:
    """What stops this inspection from going to review; empty when it may be submitted."""
    answered = {a["item"] for a in save.answers}
    missing = [
        f"answer for item {item.seq} ({item.code})"
        for item in version.items
        if not _answered(item, answered)
    ]
    covered = {i for f in save.findings for i in f["items"]}
    missing += [
        f"finding for defect {code}"
        for code in verdict.defects
        if not any(_related(code, c) for c in covered)
        and not _has_defective_child(code, verdict.defects)
    ]
    if not any(s["role"] == "inspector" for s in save.signatures):
        missing.append("inspector signature (role 'inspector')")
    return missing


def _answered(item: Item, answered: Iterable[str]) -> bool:
    answered = set(answered)
    if item.code in answered:
        return True
    return bool(item.checks) and all(check.code in answered for check in item.checks)


def _has_defective_child(code: str, defects: Iterable[str]) -> bool:
    # A parent is a defect because a sub-check is: the finding names the sub-check.
    return any(d.startswith(code + ".") for d in defects)
