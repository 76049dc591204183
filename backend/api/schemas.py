"""Schemas shared by several resources."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate


class ErrorSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "Stable dotted error code"})
    status = ma.fields.Integer()
    message = ma.fields.String(metadata={"description": "What went wrong and what to do next"})
    errors = ma.fields.Dict(metadata={"description": "Per-field details, where there are any"})


class PageArgs(ma.Schema):
    limit = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = ma.fields.String(load_default=None)


class PageSchema(ma.Schema):
    next_cursor = ma.fields.String(
        allow_none=True,
        metadata={"description": "Pass as `cursor` for the next page; null at the end"},
    )


def page_of(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    return type(name, (PageSchema,), {"items": ma.fields.List(ma.fields.Nested(item_schema))})
