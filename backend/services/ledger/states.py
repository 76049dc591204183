"""The closed loop: states, events, and which event may happen in which state.

待整改 pending ──rectification_reported(completed=false)──▶ 整改中 rectifying
待整改 / 整改中 ──rectification_reported──▶ 待复查 awaiting_reinspection
待复查 ──reinspected(passed)──▶ 已整改 rectified     待复查 ──reinspected(failed)──▶ 整改中
已整改 ──closed──▶ 已销号 closed
listed (挂牌督办), extended (延期), reclassified (重新定级) and received (接报) keep the state;
voided (作废) ends any open entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from backend.models import HazardSource, HazardState, Role

# The campaign runs in China (no daylight saving): "today", deadlines and the year of a ledger
# number are China Standard Time.
CHINA = timezone(timedelta(hours=8), "CST")

STATE_LABELS: dict[HazardState, str] = {
    HazardState.pending: "待整改",
    HazardState.rectifying: "整改中",
    HazardState.awaiting_reinspection: "待复查",
    HazardState.rectified: "已整改",
    HazardState.closed: "已销号",
    HazardState.voided: "已作废",
}
SOURCE_LABELS: dict[HazardSource, str] = {
    HazardSource.self_reported: "企业自查",
    HazardSource.department: "部门检查",
}
LEVEL_LABELS = {"general": "一般隐患", "major": "重大事故隐患"}
EVENT_LABELS = {
    "created": "登记入账",
    "rectification_reported": "整改情况报告",
    "reinspected": "复查",
    "closed": "销号",
    "listed": "挂牌督办",
    "extended": "延期",
    "voided": "作废",
    "reclassified": "重新定级",
    "received": "接报",
}
LISTING_LEVEL_LABELS = {"government": "政府挂牌督办", "department": "部门挂牌督办"}

OPEN = (
    HazardState.pending,
    HazardState.rectifying,
    HazardState.awaiting_reinspection,
    HazardState.rectified,
)
NOT_RECTIFIED = (HazardState.pending, HazardState.rectifying)  # what "overdue" looks at

# event type -> states it may happen in
ALLOWED_IN: dict[str, tuple[HazardState, ...]] = {
    "rectification_reported": NOT_RECTIFIED,
    "reinspected": (HazardState.awaiting_reinspection,),
    "closed": (HazardState.rectified,),
    "listed": OPEN,
    "extended": NOT_RECTIFIED,
    "voided": OPEN,
    "reclassified": OPEN,
    "received": OPEN,
}

# event type -> roles that may record it (more checks follow in events.py)
ROLES: dict[str, tuple[Role, ...]] = {
    "rectification_reported": (Role.inspector, Role.supervisor),
    "reinspected": (Role.inspector, Role.supervisor),
    "closed": (Role.supervisor,),
    "listed": (Role.supervisor,),
    "extended": (Role.supervisor,),
    "voided": (Role.admin,),
    "reclassified": (Role.supervisor,),
    "received": (Role.inspector, Role.supervisor),
}

# event type -> the request fields it takes besides `type`
FIELDS: dict[str, frozenset[str]] = {
    "rectification_reported": frozenset(
        {"completed", "measures", "funds", "responsible_person", "photos", "comment"}
        | {"plan_deadline", "emergency_plan"}
    ),
    "reinspected": frozenset({"passed", "photos", "comment", "reinspected_at"}),
    "closed": frozenset({"photos", "comment"}),
    "listed": frozenset({"unit_id", "listed_on", "comment", "requirements", "deadline"}),
    "extended": frozenset({"deadline", "reason"}),
    "voided": frozenset({"reason"}),
    "reclassified": frozenset({"level", "clause", "reason"}),
    "received": frozenset({"received_at", "channel", "comment"}),
}
EVENTS = tuple(ALLOWED_IN)


def next_state(event: str, current: HazardState, args: Mapping[str, Any]) -> HazardState:
    """The state after `event`; call only once ALLOWED_IN said the event may happen."""
    if event == "rectification_reported":
        return (
            HazardState.awaiting_reinspection
            if args.get("completed", True)
            else HazardState.rectifying
        )
    if event == "reinspected":
        return HazardState.rectified if args["passed"] else HazardState.rectifying
    if event == "closed":
        return HazardState.closed
    if event == "voided":
        return HazardState.voided
    return current  # listed, extended, reclassified, received


def today(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(CHINA).date()


def local_date(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()
