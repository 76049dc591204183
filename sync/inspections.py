"""Version 1 of the inspection commands: argument validation and the rules they follow.

`inspection.save@1` carries the whole inspection as the tablet holds it. Structure is checked
first (`parse_save`), then the answers against the checklist version the inspection pins
(`check_against`), even when newer versions exist.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from marshmallow import validate

from checklists import ChecklistVersion, Evaluation, Item, Rule
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
    r.check()
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


SAVE_FIELDS = {
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
        {"id", "items", "description", "requirement", "deadline", "claimed_level", "photos"},
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
