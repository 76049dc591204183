"""Request parsing for every endpoint: the accepted-text rule (sync/text.py) and a bound on
JSON nesting, applied to everything a request carries before any schema sees it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import Request
from flask_smorest import abort
from webargs.core import missing
from webargs.flaskparser import FlaskParser, is_json_request

from sync import text
from sync.args import MAX_YEAR, MIN_YEAR, YEARS

MAX_INT_DIGITS = 30
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


class TooDeep(ValueError):
    """JSON nested beyond what the decoder can follow."""


class Parser(FlaskParser):
    def parse(self, argmap: Any, req: Any = None, **kwargs: Any) -> Any:
        data = super().parse(argmap, req, **kwargs)
        found = out_of_range(_without(data, getattr(argmap, "text_checked_later", ())))
        if found:
            abort(422, messages={kwargs.get("location") or self.location: found})
        return data

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            return missing
        try:
            return json.loads(
                req.get_data(cache=True).decode(),
                parse_constant=_no_constant,
                parse_int=_bounded_int,
            )
        except RecursionError:
            abort(
                400,
                exc=TooDeep(),
                code="request.too_deep",
                message=f"The JSON body is nested too deeply; at most {text.MAX_DEPTH} levels.",
            )

    def pre_load(
        self, location_data: Mapping[str, Any], *, schema: ma.Schema, req: Request, location: str
    ) -> Mapping[str, Any]:
        data = _without(location_data, getattr(schema, "text_checked_later", ()))
        found = text.locate(_plain(data))
        if found:
            raise ma.ValidationError(_nested(found))
        return location_data


def out_of_range(value: Any, path: str = "") -> dict[str, list[str]]:
    """Loaded values no column can hold: integers beyond 32 bits (every integer column a request
    writes or compares is one) and dates outside the years sync.args allows."""
    found: dict[str, list[str]] = {}
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, bool):
            continue
        if isinstance(item, int) and not INT_MIN <= item <= INT_MAX:
            found[where or "_"] = [f"Must be between {INT_MIN} and {INT_MAX}."]
        elif isinstance(item, date) and not MIN_YEAR <= item.year <= MAX_YEAR:
            found[where or "_"] = [YEARS]
        elif isinstance(item, Mapping):
            stack.extend((v, f"{where}.{k}" if where else str(k)) for k, v in item.items())
        elif isinstance(item, list | tuple | set):
            stack.extend((v, f"{where}.{n}" if where else str(n)) for n, v in enumerate(item))
    return found


def _no_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a JSON number", name, 0)


def _bounded_int(digits: str) -> int:
    if len(digits) > MAX_INT_DIGITS:  # int() itself refuses beyond 4300 digits with a 500
        raise json.JSONDecodeError("The number has too many digits", digits[:20], 0)
    return int(digits)


def _nested(found: list[tuple[tuple[str, ...], str]]) -> dict[str, Any]:
    """Paths as marshmallow reports them: {"answers": {"0": {"item": [message]}}}."""
    tree: dict[str, Any] = {}
    for path, message in found:
        node = tree
        for key in path[:-1]:
            child = node.setdefault(key, {})
            node = child if isinstance(child, dict) else node
        node.setdefault(path[-1] if path else "_schema", []).append(message)
    return tree


def _without(data: Any, keys: tuple[str, ...]) -> Any:
    """Leave out what a schema checks itself (a push's commands are judged one by one)."""
    if keys and isinstance(data, Mapping):
        return {k: v for k, v in data.items() if k not in keys}
    return data


def _plain(data: Any) -> Any:
    """A query string or form (a MultiDict proxy) as lists of its values; JSON as it is."""
    getlist = getattr(data, "getlist", None)
    if getlist is not None and isinstance(data, Mapping):
        return {key: getlist(key) for key in data}
    return data


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()
