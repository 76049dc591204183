"""Version 1 of the hazard commands: a re-inspection (复查) recorded on a tablet, offline.

`hazard.reinspect@1 {hazard_id, passed, comment?, photos?, reinspected_at?}`. The photos are
referenced here and uploaded after the push, like an inspection's; `reinspected_at` is the
device's clock, kept as evidence and never used to order anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import marshmallow as ma
from marshmallow import validate

from sync.inspections import SHA256, TEXT
from sync.protocol import CommandRejected


class _Reinspect(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    hazard_id = ma.fields.UUID(required=True)
    passed = ma.fields.Boolean(required=True, truthy={True}, falsy={False})
    comment = ma.fields.String(load_default=None, allow_none=True, validate=TEXT)
    photos = ma.fields.List(
        ma.fields.String(validate=SHA256), load_default=list, validate=validate.Length(max=50)
    )
    reinspected_at = ma.fields.AwareDateTime(load_default=None, allow_none=True)


@dataclass(frozen=True)
class HazardReinspect:
    hazard_id: uuid.UUID
    passed: bool
    comment: str | None
    photos: list[str]
    reinspected_at: datetime | None

    def event(self) -> dict[str, Any]:
        """The same re-inspection as the ledger's `reinspected` event takes it."""
        event: dict[str, Any] = {"type": "reinspected", "passed": self.passed}
        if self.comment is not None:
            event["comment"] = self.comment
        if self.photos:
            event["photos"] = self.photos
        if self.reinspected_at is not None:
            event["reinspected_at"] = self.reinspected_at
        return event


def parse_reinspect(args: Mapping[str, Any]) -> HazardReinspect:
    try:
        data = _Reinspect().load(args)
    except ma.ValidationError as exc:
        fields = ", ".join(sorted(exc.messages)) if isinstance(exc.messages, dict) else "args"
        raise CommandRejected(
            "command.invalid", f"Fix these arguments: {fields}.", {"args": exc.messages}
        ) from None
    return HazardReinspect(
        hazard_id=data["hazard_id"],
        passed=data["passed"],
        comment=data["comment"],
        photos=list(dict.fromkeys(data["photos"])),
        reinspected_at=data["reinspected_at"],
    )
