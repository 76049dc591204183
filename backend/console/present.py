"""How values read on the console's pages: Chinese labels, China-time dates, answer words.

Templates reach these as `p.<name>`. Pure functions over values; no database here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from backend.domain.sectors import SECTORS
from backend.models import HazardState, Role
from backend.services.ledger.states import CHINA, EVENT_LABELS, LEVEL_LABELS, STATE_LABELS
from sync.inspections import KINDS

STATUS_LABELS = {
    "draft": "草稿",
    "submitted": "待审核",
    "returned": "已退回",
    "approved": "已通过",
    "rejected": "已驳回",
}
DECISION_LABELS = {"approve": "通过", "return": "退回", "reject": "驳回"}
ROLE_LABELS = {Role.inspector: "检查人员", Role.supervisor: "审核人", Role.admin: "管理员"}
UNIT_KIND_LABELS = {"district": "区（县）", "town": "镇街", "department": "区直部门"}
SIGNATURE_ROLES = {"inspector": "检查人员", "enterprise": "企业负责人", "supervisor": "负责人"}
HISTORY_LABELS = {
    "inspection.version": "平板保存",
    "inspection.approve": "审核通过",
    "inspection.return": "退回",
    "inspection.reject": "驳回",
}
SECTOR_LABELS = SECTORS
KIND_LABELS = KINDS
LEVELS = LEVEL_LABELS
EVENTS = EVENT_LABELS
STATES = {state.value: label for state, label in STATE_LABELS.items()}


def when(value: datetime | str | None) -> str:
    """A moment in China time, to the minute: 2026-11-20 09:00."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def day(value: date | datetime | str | None) -> str:
    if value is None or value == "":
        return "—"
    if value == "immediate":
        return "立即整改"
    if isinstance(value, datetime):
        return value.astimezone(CHINA).strftime("%Y-%m-%d")
    return str(value)


def status(value: str) -> str:
    return STATUS_LABELS.get(value, value)


def state(value: HazardState | str) -> str:
    return STATES.get(str(value), str(value))


def level(value: str | None) -> str:
    return LEVEL_LABELS.get(value or "", "—")


def role(value: Role | str) -> str:
    return ROLE_LABELS.get(Role(value), str(value))


def answer_word(answer: str | None, defect_answer: str) -> str:
    """What an answer means for this item, whichever way its question points: an item that
    names a hazard (是 = defect) and one that asks about compliance (否 = defect) both read
    存在 when the problem is there."""
    if answer is None:
        return "未作答"
    if answer == "na":
        return "不涉及"
    return "存在" if answer == defect_answer else "不存在"


def tick(answer: str | None) -> str:
    """The box the inspector ticked, as printed on the sheet."""
    return {"yes": "是", "no": "否", "na": "不涉及"}.get(answer or "", "—")


def rule_label(rule: dict[str, Any] | None) -> str:
    """Where a determination-standard clause is printed: 《…》第十三条（一）."""
    if not rule:
        return "—"
    source = rule.get("source") or {}
    return f"{source.get('standard', '')}{source.get('article', '')}{source.get('item') or ''}"


def gap(seconds: int | None) -> str:
    if not seconds:
        return "在检查时段内"
    hours, rest = divmod(abs(int(seconds)), 3600)
    return f"偏离检查时段 {hours} 小时 {rest // 60} 分"


def yuan(value: int | None) -> str:
    return "—" if value is None else f"{value:,} 元"


def megabytes(size: int | None) -> str:
    """A file size as a person reads it: 1.6 GB, 12.3 MB, 800 KB."""
    if size is None:
        return "—"
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} 字节"
