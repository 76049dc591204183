"""The error statuses each operation documents, instead of a bare `default` (issue 12).

Every operation's errors share the one Error shape; which statuses it can answer follows from
what it is: a JSON body can be malformed (400), too large (413), too slow (408) or invalid
(422); a signed-in operation can be refused (401, 403); a path names something that may not
exist (404); a `cursor` may be one the server never issued (400); a write may conflict (409);
anything that reads the database may find it down (503). A client, and a schema checker such as
schemathesis, can then tell an undocumented status from a documented one.
"""

from __future__ import annotations

from typing import Any

from apispec import BasePlugin

ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
WRITES = {"post", "put", "patch", "delete"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": ERROR}


class ErrorStatuses(BasePlugin):
    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        for method, operation in (operations or {}).items():
            responses = operation.setdefault("responses", {})
            for status, description in _statuses(path or "", method, operation):
                key = str(status)
                if key not in responses and status not in responses:
                    responses[key] = _error(description)


def _statuses(path: str, method: str, operation: dict[str, Any]) -> list[tuple[int, str]]:
    params = [p for p in operation.get("parameters", []) if isinstance(p, dict)]
    names = {p.get("name") for p in params}
    body = "requestBody" in operation
    found: list[tuple[int, str]] = []
    if body or "cursor" in names:
        found.append(
            (
                400,
                "request.malformed_json, request.too_deep; pagination.invalid_cursor: a "
                "cursor this server did not issue",
            )
        )
    if operation.get("security"):
        found.append((401, "auth.required, auth.token_revoked: sign in again"))
        found.append((403, "auth.forbidden, auth.device_revoked: not allowed for this user"))
    if "{" in path:
        found.append((404, "not_found: nothing by that id that this user may see"))
    if body:
        found.append((408, "http.408: the body did not arrive in time"))
    if method in WRITES:
        found.append((409, "conflict: clashes with the current state (see code)"))
    if body:
        found.append((413, "request.too_large"))
    if body or params:
        found.append((422, "validation.invalid: see errors for each field"))
    if not path.endswith("/healthz"):
        found.append((503, "server.unavailable: the database is not reachable; retry"))
    return found
