"""Reading query strings and form fields, and what a form post hands on after its commit."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime

from flask import current_app

from backend.services.ledger.states import CHINA

from .errors import FormError

PAGE_SIZE = 50


def page_size() -> int:
    """Rows a list page shows (keyset pages: the next one starts after the last row)."""
    return int(current_app.config.get("CONSOLE_PAGE_SIZE", PAGE_SIZE))


def text(values: Mapping[str, str], name: str, *, limit: int = 4000) -> str | None:
    value = (values.get(name) or "").strip()
    if len(value) > limit:
        raise FormError(f"内容过长（最多 {limit} 字）。", {name: "过长"})
    return value or None


def uuid_of(values: Mapping[str, str], name: str) -> uuid.UUID | None:
    value = (values.get(name) or "").strip()
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise FormError("所选项目无效，请重新选择。", {name: "无效"}) from None


def date_of(values: Mapping[str, str], name: str, label: str = "日期") -> date | None:
    value = (values.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FormError(f"{label}格式应为 年-月-日，例如 2026-12-01。", {name: "格式"}) from None


def moment_of(values: Mapping[str, str], name: str, label: str) -> datetime | None:
    """A datetime-local field, read as China time."""
    value = (values.get(name) or "").strip()
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=CHINA)
    except ValueError:
        raise FormError(f"{label}格式应为 年-月-日 时:分。", {name: "格式"}) from None


def flag(values: Mapping[str, str], name: str) -> bool | None:
    """A yes/no/any select: "1", "0" or empty."""
    value = values.get(name) or ""
    return {"1": True, "0": False}.get(value)


def whole_number(values: Mapping[str, str], name: str, label: str) -> int | None:
    value = (values.get(name) or "").strip().replace(",", "")
    if not value:
        return None
    if not value.isdigit():
        raise FormError(f"{label}请填写不小于 0 的整数。", {name: "整数"})
    return int(value)
