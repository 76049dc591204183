"""Version 1 of the inspection commands: argument validation and the rules they follow.

`inspection.save@1` carries the whole inspection as the tablet holds it. Structure is checked
first (`parse_save`), then the answers against the checklist version the inspection pins
(`check_against`), even when newer versions exist.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, NamedTuple

from marshmallow import validate

from checklists import ChecklistVersion, Evaluation, Item, Rule, explain, standards
from checklists import expr as rule_expr
from sync.args import SHA256 as SHA256_RE
from sync.args import Reader
from sync.protocol import CommandRejected

KINDS: dict[str, str] = {
    "department_inspection": "部门检查",
    "self_inspection": "企业自查",
    "supervisory_inspection": "督导检查",
    "assistance_visit": "帮扶指导",
}
KIND_BY_LABEL = {label: code for code, label in KINDS.items()}
# Validators for the schema-based commands (hazard.*); inspection.save@1 is checked by hand.
SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="Must be a lowercase hex SHA-256.")
TEXT = validate.Length(max=4000)
SHORT = validate.Length(min=1, max=200)


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
    # The form's header as printed (附件2: 检查项目, 项目经理, 总监, 检查时间), where the sheet
    # prints one: keys of the version's record_fields; required at submit (missing_for_submit).
    record: dict[str, Any] = field(default_factory=dict)

    def media(self) -> set[str]:
        """Every photo and signature hash the inspection references."""
        hashes = {p["sha256"] for p in self.photos} | {s["sha256"] for s in self.signatures}
        for finding in self.findings:
            hashes.update(finding["photos"])
        return hashes


ANSWER_VALUES = frozenset(("yes", "no", "na"))
ANSWER_KEYS = frozenset(("item", "answer", "note"))


def _answers(rows: list[Any]) -> list[dict[str, Any]]:
    """The answers, checked as `_Answer` would, at a fraction of the cost."""
    errors: dict[int, dict[str, list[str]]] = {}
    clean = []
    for n, row in enumerate(rows):
        problems = _answer_problems(row)
        if problems:
            errors[n] = problems
            continue
        clean.append({"item": row["item"], "answer": row["answer"], "note": row.get("note")})
    if errors:
        fields = ", ".join(f"answers.{n}.{key}" for n, p in errors.items() for key in p)
        raise CommandRejected(
            "command.invalid", f"Fix these arguments: {fields}.", {"args": {"answers": errors}}
        )
    return clean


def _answer_problems(row: Any) -> dict[str, list[str]]:
    if not isinstance(row, dict):
        return {"_schema": ["Each answer must be an object."]}
    problems = {key: ["Unknown field."] for key in row.keys() - ANSWER_KEYS}
    item = row.get("item")
    if not isinstance(item, str) or not 1 <= len(item) <= 200:
        problems["item"] = ["Required: an item code."]
    if row.get("answer") not in ANSWER_VALUES:
        problems["answer"] = ["Must be one of: yes, no, na."]
    note = row.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > 4000):
        problems["note"] = ["Text of at most 4000 characters, or null."]
    return problems


def parse_save(args: Mapping[str, Any]) -> InspectionSave:
    r = Reader()
    data = r.obj(args, "", SAVE_FIELDS)
    ref = r.obj(data.get("checklist"), "checklist", {"code", "version"})
    save = InspectionSave(
        id=r.uuid(data, "id", ""),  # type: ignore[arg-type]
        checklist_code=r.text(ref, "code", "checklist", required=True, max_len=200) or "",
        checklist_version=r.text(ref, "version", "checklist", required=True, max_len=200) or "",
        enterprise_id=r.uuid(data, "enterprise_id", ""),  # type: ignore[arg-type]
        kind=r.text(data, "kind", "", required=True, max_len=200) or "",
        started_at=r.moment(data, "started_at", ""),
        finished_at=r.moment(data, "finished_at", ""),
        location=_location(r, data.get("location")),
        inspectors=[
            _inspector(r, v, f"inspectors.{n}")
            for n, v in enumerate(r.items(data.get("inspectors"), "inspectors", 20))
        ],
        answers=[],
        findings=[
            _finding(r, v, f"findings.{n}")
            for n, v in enumerate(r.items(data.get("findings"), "findings", 200))
        ],
        photos=[
            _photo(r, v, f"photos.{n}")
            for n, v in enumerate(r.items(data.get("photos"), "photos", 500))
        ],
        signatures=[
            _signature(r, v, f"signatures.{n}")
            for n, v in enumerate(r.items(data.get("signatures"), "signatures", 20))
        ],
    )
    record: dict[str, Any] = {
        key: r.text(data, key, "", max_len=200) for key in RECORD_TEXT_FIELDS if key in data
    }
    if "inspected_at" in data:
        record["inspected_at"] = r.moment(data, "inspected_at", "")
    r.check()
    save = replace(save, record={k: v for k, v in record.items() if v is not None})
    answers = _answers(r.items(data.get("answers"), "answers", 1000))
    r.check()
    kind = KIND_BY_LABEL.get(save.kind, save.kind)
    if kind not in KINDS:
        raise CommandRejected(
            "inspection.kind_unknown",
            f"Unknown kind {save.kind!r}; use one of {', '.join(KINDS)} "
            f"({', '.join(KINDS.values())}).",
            {"args": {"kind": ["Unknown kind."]}},
        )
    _check_findings(save.findings)
    _check_unique(save.findings, "id", "findings")
    _check_unique(answers, "item", "answers")
    return replace(save, kind=kind, answers=answers)


RECORD_TEXT_FIELDS = ("project", "project_manager", "chief_supervisor")
SAVE_FIELDS = {
    *RECORD_TEXT_FIELDS,
    "inspected_at",
    "id",
    "checklist",
    "enterprise_id",
    "kind",
    "started_at",
    "finished_at",
    "location",
    "inspectors",
    "answers",
    "findings",
    "photos",
    "signatures",
}


def _location(r: Reader, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    data = r.obj(value, "location", {"lat", "lon", "accuracy_m"})
    return {
        "lat": r.number(data, "lat", "location", -90, 90),
        "lon": r.number(data, "lon", "location", -180, 180),
        "accuracy_m": r.number(data, "accuracy_m", "location", 0, 1e7, required=False),
    }


def _inspector(r: Reader, value: Any, path: str) -> dict[str, Any]:
    data = r.obj(value, path, {"name", "user_id"})
    return {
        "name": r.text(data, "name", path, required=True, max_len=200),
        "user_id": r.uuid(data, "user_id", path, required=False),
    }


def _finding(r: Reader, value: Any, path: str) -> dict[str, Any]:
    data = r.obj(
        value,
        path,
        {"id", "items", "description", "requirement", "deadline", "claimed_level", "photos"}
        | {"sector"},
    )
    items = r.items(data.get("items"), f"{path}.items", 100)
    if not all(isinstance(i, str) and 0 < len(i) <= 200 for i in items):
        r.fail(f"{path}.items", "Must be a list of item codes.")
    level = data.get("claimed_level", "general")
    if level not in ("general", "major"):
        r.fail(f"{path}.claimed_level", "Must be general or major.")
    return {
        "id": r.uuid(data, "id", path),
        "items": items,
        "description": r.text(data, "description", path),
        "requirement": r.text(data, "requirement", path),
        "deadline": r.deadline(data, path),
        "claimed_level": level,
        "photos": r.hashes(data.get("photos"), f"{path}.photos"),
        # 行业领域 the hazard was found in, if not the enterprise's (a generic sheet's hazards)
        "sector": r.text(data, "sector", path, max_len=40),
    }


def _photo(r: Reader, value: Any, path: str) -> dict[str, Any]:
    data = r.obj(value, path, {"sha256", "item", "caption", "taken_at"})
    sha = data.get("sha256")
    if not (isinstance(sha, str) and SHA256_RE.match(sha)):
        r.fail(f"{path}.sha256", "Must be a lowercase hex SHA-256.")
    return {
        "sha256": sha,
        "item": r.text(data, "item", path, max_len=200),
        "caption": r.text(data, "caption", path),
        "taken_at": r.moment(data, "taken_at", path),
    }


def _signature(r: Reader, value: Any, path: str) -> dict[str, Any]:
    data = r.obj(value, path, {"role", "name", "sha256"})
    sha = data.get("sha256")
    if not (isinstance(sha, str) and SHA256_RE.match(sha)):
        r.fail(f"{path}.sha256", "Must be a lowercase hex SHA-256.")
    return {
        "role": r.text(data, "role", path, required=True, max_len=200),
        "name": r.text(data, "name", path, required=True, max_len=200),
        "sha256": sha,
    }


def parse_submit(args: Mapping[str, Any]) -> uuid.UUID:
    r = Reader()
    inspection_id = r.uuid(r.obj(args, "", {"id"}), "id", "")
    r.check()
    assert inspection_id is not None
    return inspection_id


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
    unknown = sorted({a["item"] for a in save.answers} - set(version.answerable_codes()))
    unknown += sorted({i for f in save.findings for i in f["items"]} - codes - set(unknown))
    unknown += sorted({p["item"] for p in save.photos if p["item"]} - codes - set(unknown))
    if unknown:
        raise CommandRejected(
            "checklist.unknown_item",
            f"Checklist {version.code} version {version.version} has no item "
            f"{', '.join(unknown)}. Answer the items of the version the inspection pins.",
            {"args": {"answers": [f"Unknown item {code}." for code in unknown]}},
        )
    answers = {a["item"]: a["answer"] for a in save.answers}
    _check_not_applicable(version, answers)
    return version.evaluate(answers)


def _check_not_applicable(version: ChecklistVersion, answers: Mapping[str, str]) -> None:
    """不涉及 on a printed item with defects ticked below it is a contradiction, not "no defect"."""
    for item in version.items:
        if answers.get(item.code) != "na":
            continue
        defects = [c for c in item.checks if answers.get(c.code) == c.defect_answer]
        if defects:
            seqs = ", ".join(c.seq for c in defects)
            raise CommandRejected(
                "inspection.not_applicable_with_defects",
                f"Item {item.seq} ({item.code}) is answered 不涉及 (na), but its sub-check "
                f"{seqs} is answered as a defect. Answer item {item.seq} itself, or clear or "
                f"correct sub-check {seqs}.",
                {"args": {"answers": [f"{item.code} na with defect {c.code}." for c in defects]}},
            )


class Suggestion(NamedTuple):
    """What the rules say of one finding: its level, the rule that makes it major, and notes
    for the inspector (which condition a claimed 重大 misses; why a defect is only 一般)."""

    level: str
    rule: str | None
    notes: tuple[str, ...] = ()


def scoped(verdict: Evaluation, on: date, sector: str | None) -> tuple[Evaluation, dict[str, str]]:
    """The verdict with only the rules whose clause is in force on ``on`` and binds ``sector``;
    and, for each rule left out, why (an inspection is judged by the standards of its date)."""
    catalogue = standards.shipped()
    kept, dropped = [], {}
    for rule in verdict.matched_rules:
        clause = catalogue.for_rule(rule)
        problem = catalogue.problem(clause, on, sector) if clause else None
        if problem:
            dropped[rule.code] = problem
        else:
            kept.append(rule)
    return replace(verdict, matched_rules=tuple(kept)), dropped


def suggest_all(
    findings: Iterable[Mapping[str, Any]],
    verdict: Evaluation,
    version: ChecklistVersion,
    dropped: Mapping[str, str] | None = None,
) -> dict[Any, Suggestion]:
    """The suggestion for every finding, by finding id; ``dropped`` are rules :func:`scoped`
    left out, noted on the findings they would have made major."""
    dropped = dropped or {}
    result = {}
    for finding in findings:
        level, rule = suggest(finding, verdict)
        notes = _notes(finding, level, verdict, version, dropped)
        result[finding["id"]] = Suggestion(level, rule.code if rule else None, notes)
    return result


def _names(finding: Mapping[str, Any], rule: Rule) -> bool:
    """Whether the finding names an item (or sub-check) the rule is about."""
    return any(_related(leaf, i) for leaf in rule_expr.codes(rule.expr) for i in finding["items"])


def groups(
    findings: Iterable[Mapping[str, Any]], suggestions: Mapping[Any, tuple[Any, ...]]
) -> dict[Any, Any]:
    """One situation, one major: findings suggested major by the same rule form one group, led
    by the first of them. Returns each grouped finding's lead id (the lead maps to itself)."""
    leads: dict[str, Any] = {}
    result: dict[Any, Any] = {}
    for finding in findings:
        level, rule = suggestions[finding["id"]][:2]
        if level == "major" and rule:
            result[finding["id"]] = leads.setdefault(rule, finding["id"])
    return result


def _notes(
    finding: Mapping[str, Any],
    level: str,
    verdict: Evaluation,
    version: ChecklistVersion,
    dropped: Mapping[str, str],
) -> tuple[str, ...]:
    """Why a finding is not major: a defect's not_major note, a rule outside its scope or
    dates (``dropped``), and, for a claimed 重大, the conditions of the rules it names."""
    if level == "major":
        return ()
    named = finding["items"]
    related = [rule for rule in version.rules if _names(finding, rule)]
    notes = [
        item_.not_major
        for code in verdict.defects
        if any(_related(code, i) for i in named)
        and (item_ := version.item(code)).not_major is not None
    ]
    notes += [dropped[rule.code] for rule in related if rule.code in dropped]
    if finding.get("claimed_level") == "major":
        notes += [
            explain.why_not_major(rule, version, verdict)
            for rule in related
            if rule.code not in dropped
        ]
        if not related:
            notes.append(
                f"No 判定标准 rule of this checklist covers {', '.join(named) or 'this finding'}: "
                "it is suggested general. A supervisor may still confirm it major by citing a "
                "clause of the catalogue (GET /api/v1/standards) with a reason."
            )
    return tuple(dict.fromkeys(notes))


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
    if version.generic:
        missing += [
            f"photo of finding {n} (a hazard on the generic sheet needs its 佐证 photos)"
            for n, f in enumerate(save.findings)
            if not f["photos"]
        ]
    missing += _missing_record(save, version)
    missing += _missing_signers(save)
    return missing


def _missing_record(save: InspectionSave, version: ChecklistVersion) -> list[str]:
    """The header fields the sheet prints (检查项目, 项目经理, 总监, 检查人员, 检查时间)."""
    missing = []
    for printed in version.record_fields:
        if printed.key == "inspectors":
            if not save.inspectors:
                missing.append(f"{printed.label} (inspectors)")
        elif not save.record.get(printed.key):
            missing.append(f"{printed.label} ({printed.key})")
    return missing


def _missing_signers(save: InspectionSave) -> list[str]:
    """谁检查、谁签名、谁负责: every listed inspector signs; with co-inspectors, each is a person
    with an account (user_id), not only a name."""
    signed = {s["name"] for s in save.signatures if s["role"] == "inspector"}
    missing = [
        f"signature of 检查人员 {person['name']} (role 'inspector', name {person['name']!r})"
        for person in save.inspectors
        if person["name"] not in signed
    ]
    if len(save.inspectors) > 1:
        missing += [
            f"user_id of 检查人员 {person['name']} (each co-inspector is an account)"
            for person in save.inspectors
            if not person.get("user_id")
        ]
    return missing


def _answered(item: Item, answered: Iterable[str]) -> bool:
    answered = set(answered)
    if item.code in answered:
        return True
    return bool(item.checks) and all(check.code in answered for check in item.checks)


def _has_defective_child(code: str, defects: Iterable[str]) -> bool:
    # A parent is a defect because a sub-check is: the finding names the sub-check.
    return any(d.startswith(code + ".") for d in defects)
