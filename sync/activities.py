"""Version 1 of the record commands: an activity (督导检查, 宣讲, 帮扶指导 …) or an enforcement
action (查封, 责令停产整顿 …) recorded on a tablet, offline.

`activity.save@1` and `enforcement.save@1`, both
`{id, record: {kind, occurred_on, detail, documents?, photos?, …}, reason?}`.
`id` is the record's client-generated UUID, so a replay or a second save finds the same record.
The photos and documents are referenced by hash and uploaded after the push. What `record`
holds is checked by the server against the kind's rules, exactly as over HTTP
(`POST /api/v1/activities`); this module checks the envelope only.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sync.protocol import CommandRejected

NAME = "activity.save@1"
ENFORCEMENT_NAME = "enforcement.save@1"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ALLOWED = {"id", "record", "reason"}
MAX_REASON = 2000


@dataclass(frozen=True)
class RecordSave:
    family: str  # activity | enforcement
    id: uuid.UUID
    record: Mapping[str, Any]
    reason: str | None

    @property
    def photos(self) -> list[str]:
        return list(self.record.get("photos") or [])


def parse_save(args: Mapping[str, Any]) -> RecordSave:
    return _parse("activity", args)


def parse_enforcement_save(args: Mapping[str, Any]) -> RecordSave:
    return _parse("enforcement", args)


def _parse(family: str, args: Mapping[str, Any]) -> RecordSave:
    errors: dict[str, list[str]] = {}
    if not isinstance(args, Mapping):
        raise CommandRejected("command.invalid", "The arguments must be an object.")
    for key in sorted(args.keys() - _ALLOWED):
        errors[key] = ["Unknown field."]
    record_id = _uuid(args.get("id"), errors)
    record = args.get("record")
    if not isinstance(record, Mapping) or not isinstance(record.get("kind"), str):
        errors["record"] = ["Must be an object with the record's kind, occurred_on and detail."]
        record = {}
    photos = record.get("photos")
    if photos is not None and not (
        isinstance(photos, list) and all(isinstance(h, str) and _SHA256.match(h) for h in photos)
    ):
        errors["record.photos"] = ["Must be a list of lowercase hex SHA-256 hashes."]
    reason = args.get("reason")
    if reason is not None and (not isinstance(reason, str) or not 0 < len(reason) <= MAX_REASON):
        errors["reason"] = [f"Must be text of 1 to {MAX_REASON} characters."]
    if errors or record_id is None:
        raise CommandRejected(
            "command.invalid", f"Fix these arguments: {', '.join(errors)}.", {"args": errors}
        )
    return RecordSave(family, record_id, record, reason)


def _uuid(value: Any, errors: dict[str, list[str]]) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        errors["id"] = ["Must be a UUID."]
        return None
