"""Every record kind: its label as the seeds print it, the schema of its `detail`, and its rules.

A rule either refuses the record (it contradicts itself or lacks what makes it that record: a
fine with no penalty decision) or flags it not countable (a real record that a 填表说明 rule
leaves out of the 调度表, or whose evidence has not been attached yet). docs/records.md lists
them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import marshmallow as ma
from marshmallow import validate

from backend.domain.media_outlets import CHANNELS, OUTLETS
from backend.models import RecordFamily


class String(ma.fields.String):
    """Text without NUL characters, which PostgreSQL cannot store and no caller means."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ma.ValidationError("Must not contain NUL characters (\\u0000).")
        return text


TEXT = validate.Length(min=1, max=500)
NAME = validate.Length(min=1, max=100)
YUAN = {"places": 2, "as_string": True, "validate": validate.Range(min=0, max=10**10)}


def _one_of(values: dict[str, str] | list[str]) -> validate.OneOf:
    return validate.OneOf(list(values))


def _described(values: dict[str, str]) -> dict[str, str]:
    return {"description": "; ".join(f"{k}: {v}" for k, v in values.items())}


class Detail(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class Person(Detail):
    name = String(required=True, validate=NAME)
    post = String(load_default=None, allow_none=True, validate=NAME)


# --- 执法措施 ---------------------------------------------------------------------------------

CASE_STAGES = {"pre_incident": "事前立案", "accident": "事故立案"}
VEHICLE_TYPES = {
    "production": "生产经营性车辆",
    "private": "非生产经营性车辆",
    "pedestrian": "行人",
    "e_bike": "电动车",
}


class CaseFiled(Detail):
    stage = String(required=True, validate=_one_of(CASE_STAGES), metadata=_described(CASE_STAGES))
    case_number = String(load_default=None, allow_none=True, validate=NAME)


class Penalty(Detail):
    decision_number = String(
        load_default=None, allow_none=True, validate=NAME, metadata={"description": "决定书文号"}
    )
    decided_on = ma.fields.Date(load_default=None, allow_none=True)
    legal_basis = String(load_default=None, allow_none=True, validate=TEXT)
    work_safety = ma.fields.Boolean(required=True, metadata={"description": "安全生产方面的处罚"})
    party_name = String(required=True, validate=NAME, metadata={"description": "当事人"})
    traffic = ma.fields.Boolean(load_default=False)
    vehicle_type = String(
        load_default=None,
        allow_none=True,
        validate=_one_of(VEHICLE_TYPES),
        metadata=_described(VEHICLE_TYPES),
    )
    amount_yuan = ma.fields.Decimal(load_default=None, allow_none=True, **YUAN)  # type: ignore[arg-type]
    stage = String(
        load_default="pre_incident",
        validate=_one_of(CASE_STAGES),
        metadata={
            "description": "泉州 附件2 splits 事前罚款金额 and 事故罚款金额: "
            + "; ".join(f"{k}: {v}" for k, v in CASE_STAGES.items())
        },
    )


class DualPenalty(Detail):
    enterprise_decision_number = String(required=True, validate=NAME)
    enterprise_amount_yuan = ma.fields.Decimal(required=True, **YUAN)  # type: ignore[arg-type]
    principal_name = String(required=True, validate=NAME, metadata={"description": "主要负责人"})
    principal_decision_number = String(required=True, validate=NAME)
    principal_amount_yuan = ma.fields.Decimal(required=True, **YUAN)  # type: ignore[arg-type]
    decided_on = ma.fields.Date(required=True)


RECEIVING_ORGANS = {
    "procuratorate": "人民检察院",
    "court": "人民法院",
    "public_security": "公安机关",
}


class JudicialReferral(Detail):
    persons = ma.fields.List(ma.fields.Nested(Person), required=True, validate=validate.Length(1))
    receiving_organ = String(
        required=True, validate=_one_of(RECEIVING_ORGANS), metadata=_described(RECEIVING_ORGANS)
    )
    organ_name = String(load_default=None, allow_none=True, validate=NAME)
    detained = ma.fields.Boolean(load_default=False, metadata={"description": "拘留"})
    criminal_case = ma.fields.Boolean(
        load_default=False, metadata={"description": "入刑: the detention became a criminal case"}
    )


SUSPENSION_ORDERS = {"production": "责令停产整顿", "production_business": "责令停产停业整顿"}
CLOSURE_MEASURES = {"closed": "关闭取缔", "closure_requested": "提请关闭"}
SEIZURE_MEASURES = {"seal": "查封", "seize": "扣押", "power_cut": "停电"}
PRESSURE_MEASURES = {
    "exposure": "曝光",
    "interview": "约谈",
    "joint_punishment": "联合惩戒",
    "blacklist": "纳入黑名单",
}


class Suspension(Detail):
    order = String(
        required=True, validate=_one_of(SUSPENSION_ORDERS), metadata=_described(SUSPENSION_ORDERS)
    )
    decision_number = String(load_default=None, allow_none=True, validate=NAME)


class Closure(Detail):
    measure = String(
        required=True, validate=_one_of(CLOSURE_MEASURES), metadata=_described(CLOSURE_MEASURES)
    )


class Seizure(Detail):
    measure = String(
        required=True, validate=_one_of(SEIZURE_MEASURES), metadata=_described(SEIZURE_MEASURES)
    )


class LicenceSuspension(Detail):
    licence = String(required=True, validate=NAME, metadata={"description": "证照名称"})
    licence_number = String(load_default=None, allow_none=True, validate=NAME)


class PublicPressure(Detail):
    measure = String(
        required=True, validate=_one_of(PRESSURE_MEASURES), metadata=_described(PRESSURE_MEASURES)
    )


class ClueTransfer(Detail):
    receiving_organ = String(required=True, validate=NAME)
    summary = String(load_default=None, allow_none=True, validate=TEXT)


class CriminalLiability(Detail):
    persons = ma.fields.List(ma.fields.Nested(Person), required=True, validate=validate.Length(1))


class Disciplinary(Detail):
    persons = ma.fields.List(ma.fields.Nested(Person), required=True, validate=validate.Length(1))
    measure = String(required=True, validate=NAME, metadata={"description": "处分"})


# --- 工作开展情况 -----------------------------------------------------------------------------


class Place(Detail):
    enterprise_id = ma.fields.UUID(load_default=None, allow_none=True)
    name = String(required=True, validate=NAME)


class SupervisionVisit(Detail):
    leader_name = String(required=True, validate=NAME)
    leader_post = String(required=True, validate=NAME)
    places = ma.fields.List(ma.fields.Nested(Place), required=True, validate=validate.Length(1))


class Briefing(Detail):
    leader_name = String(required=True, validate=NAME)
    leader_post = String(required=True, validate=NAME)


ASSISTANCE_TARGETS = {"town": "镇街", "enterprise": "企业"}


class Assistance(Detail):
    target = String(
        required=True,
        validate=_one_of(ASSISTANCE_TARGETS),
        metadata=_described(ASSISTANCE_TARGETS),
    )
    town_id = ma.fields.UUID(load_default=None, allow_none=True)
    key_town = ma.fields.Boolean(load_default=False, metadata={"description": "重点镇街"})


ATTENDEE_ROLES = {"law_enforcement": "执法人员", "other": "其他人员"}


class Attendee(Detail):
    name = String(required=True, validate=NAME)
    role = String(
        required=True, validate=_one_of(ATTENDEE_ROLES), metadata=_described(ATTENDEE_ROLES)
    )


class Training(Detail):
    title = String(required=True, validate=TEXT)
    sessions = ma.fields.Integer(required=True, strict=True, validate=validate.Range(1, 1000))
    attendees = ma.fields.List(ma.fields.Nested(Attendee), load_default=list)


BODIES = {"party_committee": "党委", "government": "政府"}


class StudySession(Detail):
    body = String(required=True, validate=_one_of(BODIES), metadata=_described(BODIES))
    topic = String(required=True, validate=TEXT)


class ResearchMeeting(Detail):
    body = String(required=True, validate=_one_of(BODIES), metadata=_described(BODIES))
    chaired_by = String(required=True, validate=NAME)
    topic = String(required=True, validate=TEXT)


INTERVIEW_TARGETS = {"region": "地区", "department": "部门"}


class InterviewNotice(Detail):
    target_type = String(
        required=True, validate=_one_of(INTERVIEW_TARGETS), metadata=_described(INTERVIEW_TARGETS)
    )
    target_name = String(required=True, validate=NAME)


class TypicalCase(Detail):
    case_title = String(required=True, validate=TEXT)
    case_kind = String(required=True, validate=NAME, metadata={"description": "案件类型"})
    sector = String(required=True, validate=NAME, metadata={"description": "行业领域"})
    published_in = String(required=True, validate=NAME, metadata={"description": "公布渠道"})
    link = ma.fields.Url(load_default=None, allow_none=True)
    dangerous_operation_crime = ma.fields.Boolean(
        load_default=False, metadata={"description": "危险作业罪案例"}
    )


PERSON_TYPES = {"public_official": "公职人员", "enterprise": "企业"}
FOLLOWS = {"accident": "事故", "hazard": "重大事故隐患"}


class AccountabilityEntry(Detail):
    person = String(required=True, validate=NAME)
    person_type = String(
        required=True, validate=_one_of(PERSON_TYPES), metadata=_described(PERSON_TYPES)
    )
    basis = String(required=True, validate=TEXT, metadata={"description": "依据"})
    measure = String(required=True, validate=NAME, metadata={"description": "措施"})
    follows = String(required=True, validate=_one_of(FOLLOWS), metadata=_described(FOLLOWS))
    reference = String(load_default=None, allow_none=True, validate=NAME)


class Accountability(Detail):
    entries = ma.fields.List(
        ma.fields.Nested(AccountabilityEntry), required=True, validate=validate.Length(1)
    )


class ReportReward(Detail):
    anonymous = ma.fields.Boolean(required=True, metadata={"description": "匿名 (else 实名)"})
    verified = ma.fields.Boolean(required=True, metadata={"description": "查实"})
    reward_yuan = ma.fields.Decimal(load_default=Decimal("0.00"), **YUAN)  # type: ignore[arg-type]


class MediaColumn(Detail):
    outlet = String(
        required=True,
        validate=_one_of(list(OUTLETS)),
        metadata={"description": "; ".join(f"{k}: {v[0]}" for k, v in OUTLETS.items())},
    )
    channel = String(required=True, validate=_one_of(CHANNELS), metadata=_described(CHANNELS))
    title = String(required=True, validate=TEXT)


class ExpertEngagement(Detail):
    experts = ma.fields.List(ma.fields.Nested(Person), required=True, validate=validate.Length(1))


MECHANISMS = {
    "information_sharing": "部门间信息共享",
    "joint_enforcement": "联合执法检查",
    "joint_credit": "联合信用监管",
}


class CooperationMechanism(Detail):
    mechanism = String(required=True, validate=_one_of(MECHANISMS), metadata=_described(MECHANISMS))
    title = String(required=True, validate=TEXT)


class AssessmentInspection(Detail):
    title = String(required=True, validate=TEXT, metadata={"description": "文件/通知"})
    units_visited = ma.fields.List(String(validate=NAME), load_default=list)


class Certificates(Detail):
    count = ma.fields.Integer(required=True, strict=True, validate=validate.Range(1, 100_000))
    operation_type = String(load_default=None, allow_none=True, validate=NAME)


# --- rules -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    field: str


Rule = Callable[[dict[str, Any]], "list[str | Refusal]"]


@dataclass(frozen=True)
class Kind:
    code: str
    family: RecordFamily
    label: str
    schema: type[Detail]
    rules: tuple[Rule, ...] = ()
    needs_subject: bool = False  # an enterprise, or a person or vehicle (`party`)
    needs_enterprise: bool = False
    evidence: tuple[str, ...] = field(default=())  # document roles, and "photos"


def _docs(content: dict[str, Any], role: str) -> bool:
    return any(d["role"] == role for d in content.get("documents", []))


def _evidence(kind: Kind, content: dict[str, Any]) -> list[str | Refusal]:
    flags: list[str | Refusal] = []
    for need in kind.evidence:
        if need == "photos":
            if not content.get("photos"):
                flags.append("evidence.photos_missing")
        elif not _docs(content, need):
            flags.append(f"evidence.{need}_missing")
    return flags


def _penalty(content: dict[str, Any]) -> list[str | Refusal]:
    detail = content["detail"]
    out: list[str | Refusal] = []
    if detail.get("amount_yuan") is not None and not detail.get("decision_number"):
        # 区自然资源局 0904期: 未作出行政处罚，填报处罚金额14万元 (seed 000).
        out.append(
            Refusal(
                "record.amount_without_decision",
                "A fine amount needs the penalty decision behind it: give decision_number "
                "(处罚决定书文号) and decided_on, or leave amount_yuan out.",
                "detail.amount_yuan",
            )
        )
    if not detail.get("decision_number") or not detail.get("decided_on"):
        out.append(
            Refusal(
                "record.penalty_without_decision",
                "A 行政处罚 is a decision: give decision_number and decided_on.",
                "detail.decision_number",
            )
        )
    if detail.get("traffic") and not detail.get("vehicle_type"):
        out.append(
            Refusal(
                "record.vehicle_type_missing",
                "A traffic penalty names the vehicle type (vehicle_type).",
                "detail.vehicle_type",
            )
        )
    if not detail.get("work_safety"):
        out.append("penalty.not_work_safety")  # 填表说明 5: 要安全生产方面数据
    if detail.get("traffic") and detail.get("vehicle_type") not in (None, "production"):
        out.append("penalty.not_production_vehicle")  # 只算生产经营性车辆
    return out


def _referral(content: dict[str, Any]) -> list[str | Refusal]:
    detail = content["detail"]
    if detail["receiving_organ"] in ("procuratorate", "court"):
        return []
    # 填表说明 5: 其他送公安局拘留等情形，入刑的可以算，未入刑的，不算.
    return [] if detail.get("criminal_case") else ["referral.no_criminal_case"]


def _training(content: dict[str, Any]) -> list[str | Refusal]:
    if content["detail"].get("attendees"):
        return []
    return [
        Refusal(
            "record.training_without_attendees",
            "A 专题培训 records who attended: send the attendee list with each person's role.",
            "detail.attendees",
        )
    ]


def _assistance(content: dict[str, Any]) -> list[str | Refusal]:
    detail = content["detail"]
    if detail["target"] == "town" and detail.get("town_id") is None:
        return [Refusal("record.town_missing", "Name the town (town_id).", "detail.town_id")]
    if detail["target"] == "enterprise" and content.get("enterprise_id") is None:
        return [Refusal("record.enterprise_missing", "Name the enterprise.", "enterprise_id")]
    return []


def _typical_case(content: dict[str, Any]) -> list[str | Refusal]:
    if content["detail"].get("link") or _docs(content, "screenshot") or content.get("photos"):
        return []
    return ["evidence.publication_missing"]


E, A = RecordFamily.enforcement, RecordFamily.activity
KINDS: dict[str, Kind] = {
    k.code: k
    for k in (
        Kind("case_filed", E, "立案", CaseFiled, needs_subject=True),
        Kind("penalty", E, "行政处罚", Penalty, (_penalty,), needs_subject=True),
        Kind("dual_penalty", E, "一案双罚", DualPenalty, needs_enterprise=True),
        Kind("judicial_referral", E, "移送司法机关", JudicialReferral, (_referral,)),
        Kind("suspension", E, "责令停产整顿", Suspension, needs_enterprise=True),
        Kind("closure", E, "关闭取缔", Closure, needs_enterprise=True),
        Kind("seizure", E, "查封、扣押、停电", Seizure, needs_subject=True),
        Kind("licence_suspension", E, "暂扣暂停证照", LicenceSuspension, needs_subject=True),
        Kind("public_pressure", E, "曝光、约谈、联合惩戒", PublicPressure, needs_enterprise=True),
        Kind("clue_transfer", E, "案件线索移交", ClueTransfer),
        Kind("criminal_liability", E, "追究刑事责任", CriminalLiability),
        Kind("disciplinary", E, "党政纪处分", Disciplinary),
        Kind("supervision_visit", A, "督导检查", SupervisionVisit, evidence=("plan", "photos")),
        Kind("briefing", A, "宣讲", Briefing, needs_enterprise=True, evidence=("plan", "photos")),
        Kind("assistance", A, "帮扶指导", Assistance, (_assistance,)),
        Kind("training", A, "专题培训", Training, (_training,)),
        Kind("study_session", A, "专题学习", StudySession),
        Kind("research_meeting", A, "专题研究", ResearchMeeting),
        Kind("interview_notice", A, "约谈通报", InterviewNotice, evidence=("minutes",)),
        Kind("typical_case", A, "公布典型执法案例", TypicalCase, (_typical_case,)),
        Kind("accountability", A, "责任倒查追责问责", Accountability),
        Kind("report_reward", A, "举报奖励", ReportReward),
        Kind("media_column", A, "主流媒体专题栏目", MediaColumn),
        Kind("expert_engagement", A, "聘请专家", ExpertEngagement),
        Kind("cooperation_mechanism", A, "协同机制", CooperationMechanism, evidence=("document",)),
        Kind(
            "assessment_inspection",
            A,
            "考核巡查督导检查",
            AssessmentInspection,
            evidence=("notice",),
        ),
        Kind("certificates", A, "特种作业人员证书核发", Certificates),
    )
}

DOCUMENT_ROLES = {
    "plan": "检查方案/宣讲方案",
    "minutes": "纪要或文件",
    "decision": "决定书",
    "notice": "文件/通知",
    "list": "清单",
    "screenshot": "截图",
    "document": "制度文件",
    "attendance": "签到表",
    "other": "其他",
}


def of_family(family: RecordFamily) -> dict[str, Kind]:
    return {code: kind for code, kind in KINDS.items() if kind.family is family}


def assess(kind: Kind, content: dict[str, Any]) -> tuple[list[Refusal], list[str]]:
    """What refuses the record, and the flags that keep it out of the 调度表."""
    found: list[str | Refusal] = _evidence(kind, content)
    for rule in kind.rules:
        found += rule(content)
    refusals = [f for f in found if isinstance(f, Refusal)]
    flags = sorted({f for f in found if isinstance(f, str)})
    return refusals, flags
