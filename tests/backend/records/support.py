"""One valid record of every kind, with the evidence its rule asks for, and a place to make them.

`example(kind, ...)` returns what a client sends; each record counts (no flags) unless a test
takes something away.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from backend.models import Enterprise, Role, Unit, UnitKind, User
from backend.services.records.kinds import KINDS
from tests.factories import auth_headers, make_enterprise, make_unit, make_user

PLAN = hashlib.sha256(b"plan").hexdigest()
MINUTES = hashlib.sha256(b"minutes").hexdigest()
NOTICE = hashlib.sha256(b"notice").hexdigest()
POLICY = hashlib.sha256(b"policy").hexdigest()
PHOTO = hashlib.sha256(b"photo").hexdigest()

ENFORCEMENT = [k for k, v in KINDS.items() if v.family.value == "enforcement"]
ACTIVITIES = [k for k, v in KINDS.items() if v.family.value == "activity"]


def path_of(kind: str) -> str:
    family = KINDS[kind].family.value
    return "/api/v1/enforcement-actions" if family == "enforcement" else "/api/v1/activities"


def detail_of(kind: str, enterprise: Enterprise, town: Unit) -> dict[str, Any]:
    person = [{"name": "张三"}]
    return {
        "case_filed": {"stage": "pre_incident"},
        "penalty": {
            "decision_number": "荔应急罚〔2023〕12号",
            "decided_on": "2023-07-03",
            "legal_basis": "《安全生产法》第一百零二条",
            "work_safety": True,
            "party_name": enterprise.name,
            "amount_yuan": "20000.00",
        },
        "dual_penalty": {
            "enterprise_decision_number": "荔应急罚〔2023〕13号",
            "enterprise_amount_yuan": "30000",
            "principal_name": "李四",
            "principal_decision_number": "荔应急罚〔2023〕14号",
            "principal_amount_yuan": "5000",
            "decided_on": "2023-07-05",
        },
        "judicial_referral": {"persons": person, "receiving_organ": "procuratorate"},
        "suspension": {"order": "production"},
        "closure": {"measure": "closure_requested"},
        "seizure": {"measure": "seal"},
        "licence_suspension": {"licence": "燃气经营许可证"},
        "public_pressure": {"measure": "blacklist"},
        "clue_transfer": {"receiving_organ": "区纪委监委"},
        "criminal_liability": {"persons": person},
        "disciplinary": {"persons": [{"name": "王五", "post": "科长"}], "measure": "警告"},
        "supervision_visit": {
            "leader_name": "陈副区长",
            "leader_post": "副区长",
            "places": [{"name": enterprise.name, "enterprise_id": str(enterprise.id)}],
        },
        "briefing": {"leader_name": "林局长", "leader_post": "局长"},
        "assistance": {"target": "town", "town_id": str(town.id), "key_town": True},
        "training": {
            "title": "重大事故隐患判定标准专题培训",
            "sessions": 2,
            "attendees": [
                {"name": "执法一", "role": "law_enforcement"},
                {"name": "企业人员", "role": "other"},
            ],
        },
        "study_session": {"body": "party_committee", "topic": "安全生产十五条硬措施"},
        "research_meeting": {"body": "government", "chaired_by": "区长", "topic": "重大隐患整治"},
        "interview_notice": {"target_type": "department", "target_name": "区住建局"},
        "typical_case": {
            "case_title": "某公司未落实动火审批案",
            "case_kind": "危险作业",
            "sector": "工贸",
            "published_in": "区政府官网",
            "link": "https://www.example.gov.cn/case/1",
            "dangerous_operation_crime": True,
        },
        "accountability": {
            "entries": [
                {
                    "person": "赵六",
                    "person_type": "public_official",
                    "basis": "《安全生产法》",
                    "measure": "诫勉谈话",
                    "follows": "hazard",
                }
            ]
        },
        "report_reward": {"anonymous": True, "verified": True, "reward_yuan": "2000"},
        "media_column": {"outlet": "licheng_online", "channel": "wechat", "title": "安全生产专栏"},
        "expert_engagement": {"experts": [{"name": "专家甲"}]},
        "cooperation_mechanism": {"mechanism": "joint_enforcement", "title": "联合执法机制"},
        "assessment_inspection": {"title": "关于开展考核巡查的通知", "units_visited": ["甲", "乙"]},
        "certificates": {"count": 12, "operation_type": "焊接与热切割作业"},
    }[kind]


EVIDENCE: dict[str, dict[str, Any]] = {
    "supervision_visit": {"documents": [{"sha256": PLAN, "role": "plan"}], "photos": [PHOTO]},
    "briefing": {"documents": [{"sha256": PLAN, "role": "plan"}], "photos": [PHOTO]},
    "interview_notice": {"documents": [{"sha256": MINUTES, "role": "minutes"}]},
    "cooperation_mechanism": {"documents": [{"sha256": POLICY, "role": "document"}]},
    "assessment_inspection": {"documents": [{"sha256": NOTICE, "role": "notice"}]},
}


def example(kind: str, enterprise: Enterprise, town: Unit, **extra: Any) -> dict[str, Any]:
    spec = KINDS[kind]
    values: dict[str, Any] = {
        "kind": kind,
        "occurred_on": "2023-07-10",
        "detail": detail_of(kind, enterprise, town),
        **EVIDENCE.get(kind, {}),
    }
    if spec.needs_enterprise or spec.needs_subject or kind == "briefing":
        values["enterprise_id"] = str(enterprise.id)
    values.update(extra)
    return values


@dataclass
class Place:
    """A district with a town; an inspector and a supervisor of the town; an enterprise."""

    client: FlaskClient
    session: Session
    district: Unit
    town: Unit
    inspector: User
    supervisor: User
    enterprise: Enterprise

    def headers(self, user: User | None = None) -> dict[str, str]:
        return auth_headers(self.client, user or self.inspector)


def make_place(client: FlaskClient, session: Session) -> Place:
    district = make_unit(session)
    town = make_unit(session, parent=district, kind=UnitKind.town)
    return Place(
        client,
        session,
        district,
        town,
        make_user(session, town),
        make_user(session, town, Role.supervisor),
        make_enterprise(session, town, key_enterprise=True, town_id=town.id),
    )
