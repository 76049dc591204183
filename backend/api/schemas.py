"""Schemas shared by several resources."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from backend.services.pagination import MAX_CURSOR

NUL = "\x00"


class String(ma.fields.String):
    """A string that may not contain NUL: PostgreSQL cannot store one, and no caller means it.
    Use it for every string a request sends."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if NUL in text:
            raise ma.ValidationError("Must not contain NUL characters (\\u0000).")
        return text


class ErrorSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "Stable dotted error code"})
    status = ma.fields.Integer()
    message = ma.fields.String(metadata={"description": "What went wrong and what to do next"})
    errors = ma.fields.Dict(metadata={"description": "Per-field details, where there are any"})


class PageArgs(ma.Schema):
    limit = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = String(
        load_default=None,
        validate=validate.Length(max=MAX_CURSOR),
        metadata={
            "description": "Opaque: the `next_cursor` of the page before. Any other value is "
            "400 pagination.invalid_cursor."
        },
    )


class PageSchema(ma.Schema):
    next_cursor = ma.fields.String(
        allow_none=True,
        metadata={"description": "Pass as `cursor` for the next page; null at the end"},
    )


def page_of(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    return type(name, (PageSchema,), {"items": ma.fields.List(ma.fields.Nested(item_schema))})
