"""The demo district that `anjian init --demo` creates. Running it twice changes nothing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain.credit_code import check_character
from backend.models import Enterprise, Role, Unit, UnitKind, User

from . import enterprises, organisation

DISTRICT = "示范区"
TOWNS = ("城关街道", "东湖镇", "西山镇")
DEPARTMENTS = ("区住房和城乡建设局", "区城市管理局", "区应急管理局")
INSPECTION_UNIT = "城关街道"

USERS = (  # username, display name, role, unit
    ("admin", "系统管理员", Role.admin, DISTRICT),
    ("supervisor", "张主任", Role.supervisor, INSPECTION_UNIT),
    ("inspector1", "李检查", Role.inspector, INSPECTION_UNIT),
    ("inspector2", "王检查", Role.inspector, INSPECTION_UNIT),
)

ENTERPRISES = (  # name, sector, address, unit
    ("城关燃气有限公司", "gas", "城关街道解放路12号", INSPECTION_UNIT),
    ("东湖液化气供应站", "gas", "城关街道滨河路88号", INSPECTION_UNIT),
    ("老街餐饮（瓶装燃气用户）", "gas", "城关街道老街3号", INSPECTION_UNIT),
    ("城关二期安置房项目（建筑施工）", "construction", "城关街道新村路1号", INSPECTION_UNIT),
    ("滨河综合管廊工程", "construction", "城关街道滨河路200号", INSPECTION_UNIT),
    ("城关污水处理厂", "confined_space", "城关街道河口路5号", INSPECTION_UNIT),
    ("城关供排水有限公司", "confined_space", "城关街道水厂路9号", INSPECTION_UNIT),
    ("东湖镇燃气调压站", "gas", "东湖镇工业园1号", "东湖镇"),
    ("东湖镇中心小学改扩建工程", "construction", "东湖镇学府路6号", "东湖镇"),
    ("东湖酿造有限公司（发酵罐）", "confined_space", "东湖镇工业园18号", "东湖镇"),
    ("西山建材有限公司", "construction", "西山镇石门路30号", "西山镇"),
    ("西山生猪养殖场（化粪池）", "confined_space", "西山镇坑口村", "西山镇"),
)


@dataclass
class DemoResult:
    created: list[str] = field(default_factory=list)
    password: str | None = None


def demo_credit_code(n: int) -> str:
    """A well-formed, obviously fictitious code: 91 + 350102 (a 福州 district) + serial."""
    first17 = f"91350102DEMO{n:05d}".replace("O", "0")
    return first17 + check_character(first17)


def install(session: Session, password: str | None) -> DemoResult:
    result = DemoResult()
    units = _units(session, result)
    result.password = _users(session, units, password, result)
    for n, (name, sector, address, unit_name) in enumerate(ENTERPRISES, start=1):
        code = demo_credit_code(n)
        exists = session.scalar(select(Enterprise.id).where(Enterprise.credit_code == code))
        if exists is None:
            admin = session.scalars(select(User).where(User.username == "admin")).one()
            enterprises.create(
                session,
                admin,
                units[unit_name],
                {"name": name, "sector": sector, "address": address, "credit_code": code},
            )
            result.created.append(f"enterprise {name}")
    session.flush()
    return result


def _units(session: Session, result: DemoResult) -> dict[str, Unit]:
    district = session.scalars(
        select(Unit).where(Unit.parent_id.is_(None), Unit.name == DISTRICT)
    ).one_or_none()
    if district is None:
        district = organisation.create_unit(
            session, None, name=DISTRICT, kind=UnitKind.district, parent=None
        )
        result.created.append(f"unit {DISTRICT}")
    units = {DISTRICT: district}
    for names, kind in ((TOWNS, UnitKind.town), (DEPARTMENTS, UnitKind.department)):
        for name in names:
            unit = session.scalars(
                select(Unit).where(Unit.parent_id == district.id, Unit.name == name)
            ).one_or_none()
            if unit is None:
                unit = organisation.create_unit(
                    session, None, name=name, kind=kind, parent=district
                )
                result.created.append(f"unit {name}")
            units[name] = unit
    return units


def _users(
    session: Session, units: dict[str, Unit], password: str | None, result: DemoResult
) -> str | None:
    generated = None
    for username, display, role, unit_name in USERS:
        if session.scalars(select(User).where(User.username == username)).one_or_none():
            continue
        if password is None:
            password = generated = secrets.token_urlsafe(12)
        organisation.create_user(
            session,
            None,
            username=username,
            display_name=display,
            password=password,
            role=role,
            unit=units[unit_name],
        )
        result.created.append(f"user {username}")
    return generated
