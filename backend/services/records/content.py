"""What every record says, whatever its kind: the envelope around the kind's `detail`.

Shared by the API and the offline command, so a record saved on a tablet is checked exactly
like one sent over HTTP. The loaded content is stored as JSON in each version.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from .errors import RecordRefused
from .kinds import DOCUMENT_ROLES, KINDS, Kind, String, assess

SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="Must be a lowercase hex SHA-256.")
PARTY_TYPES = {"person": "个人", "vehicle": "车辆"}
DEFAULT_CAMPAIGN = "zx2023"
MAX_REFERENCES = 50


class DocumentRef(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    sha256 = String(required=True, validate=SHA256)
    role = String(
        required=True,
        validate=validate.OneOf(list(DOCUMENT_ROLES)),
        metadata={"description": "; ".join(f"{k}: {v}" for k, v in DOCUMENT_ROLES.items())},
    )


class Party(ma.Schema):
    """The person or vehicle an action is against, where it is not an enterprise."""

    class Meta:
        unknown = ma.RAISE

    type = String(required=True, validate=validate.OneOf(list(PARTY_TYPES)))
    name = String(required=True, validate=validate.Length(min=1, max=100))
    plate = String(load_default=None, allow_none=True, validate=validate.Length(max=20))


class Content(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    kind = String(required=True, metadata={"description": "The record kind (see `kinds`)"})
    occurred_on = ma.fields.Date(required=True, metadata={"description": "When it happened"})
    campaign = String(
        load_default=DEFAULT_CAMPAIGN,
        validate=validate.Length(max=40),
        metadata={"description": "Campaign code; default the 2023 专项行动 (zx2023)"},
    )
    enterprise_id = ma.fields.UUID(load_default=None, allow_none=True)
    party = ma.fields.Nested(Party, load_default=None, allow_none=True)
    inspection_id = ma.fields.UUID(load_default=None, allow_none=True)
    hazard_ids = ma.fields.List(
        ma.fields.UUID(), load_default=list, validate=validate.Length(max=MAX_REFERENCES)
    )
    documents = ma.fields.List(
        ma.fields.Nested(DocumentRef),
        load_default=list,
        validate=validate.Length(max=MAX_REFERENCES),
    )
    photos = ma.fields.List(
        String(validate=SHA256), load_default=list, validate=validate.Length(max=MAX_REFERENCES)
    )
    note = String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    detail = ma.fields.Dict(
        required=True,
        metadata={"description": "Kind-specific fields: the schema named after the kind"},
    )


def kind_of(code: str, family: Any) -> Kind:
    kind = KINDS.get(code)
    if kind is None or kind.family is not family:
        known = ", ".join(c for c, k in KINDS.items() if k.family is family)
        raise RecordRefused(
            "record.kind_unknown",
            f"Unknown kind {code!r}; use one of {known}.",
            {"kind": ["Unknown kind."]},
        )
    return kind


def load(values: dict[str, Any], family: Any) -> tuple[Kind, dict[str, Any], list[str]]:
    """Check the envelope and the kind's detail; return the kind, the content as JSON and the
    flags that keep it from counting. Raise RecordRefused naming what to fix."""
    try:
        envelope = Content().load(values)
    except ma.ValidationError as exc:
        raise _invalid(exc.messages) from None
    kind = kind_of(envelope["kind"], family)
    schema = kind.schema()
    try:
        detail = schema.dump(schema.load(envelope["detail"]))
    except ma.ValidationError as exc:
        raise _invalid({"detail": exc.messages}) from None
    content = Content().dump({**envelope, "detail": {}})
    content["detail"] = detail
    content["photos"] = list(dict.fromkeys(content["photos"]))
    content["hazard_ids"] = list(dict.fromkeys(content["hazard_ids"]))
    _subject(kind, content)
    refusals, flags = assess(kind, content)
    if refusals:
        first = refusals[0]
        raise RecordRefused(
            first.code, " ".join(r.message for r in refusals), {r.field: [r.code] for r in refusals}
        )
    return kind, content, flags


def _subject(kind: Kind, content: dict[str, Any]) -> None:
    if kind.needs_enterprise and content.get("enterprise_id") is None:
        raise RecordRefused(
            "record.enterprise_missing",
            f"A {kind.label} is against an enterprise: give enterprise_id.",
            {"enterprise_id": ["Missing data for required field."]},
        )
    if kind.needs_subject and not (content.get("enterprise_id") or content.get("party")):
        raise RecordRefused(
            "record.subject_missing",
            f"A {kind.label} is against an enterprise, a person or a vehicle: give "
            "enterprise_id, or party {type, name}.",
            {"enterprise_id": ["Give enterprise_id or party."]},
        )


def _invalid(messages: Any) -> RecordRefused:
    fields = ", ".join(sorted(messages)) if isinstance(messages, dict) else "the record"
    return RecordRefused(
        "validation.invalid", f"Fix these fields and send again: {fields}.", messages
    )
