"""How a record's fields and flags are printed in a bundle's summary: in Chinese, as the 调度表
and the documents name them, never as the field names of the API."""

from __future__ import annotations

from typing import Any

FIELDS = {
    "amount_yuan": "罚款金额（元）",
    "anonymous": "匿名举报",
    "attendees": "参训人员",
    "body": "会议主体",
    "case_kind": "案件类型",
    "case_number": "案件编号",
    "case_title": "案例名称",
    "chaired_by": "主持人",
    "channel": "栏目形式",
    "count": "数量",
    "criminal_case": "入刑",
    "dangerous_operation_crime": "危险作业罪案例",
    "decided_on": "决定日期",
    "decision_number": "决定书文号",
    "detained": "拘留",
    "enterprise_amount_yuan": "对企业罚款（元）",
    "enterprise_decision_number": "对企业决定书文号",
    "entries": "追责问责情况",
    "experts": "专家",
    "key_town": "重点镇街",
    "leader_name": "带队领导",
    "leader_post": "领导职务",
    "legal_basis": "法律依据",
    "licence": "证照名称",
    "licence_number": "证照编号",
    "link": "链接",
    "measure": "措施",
    "mechanism": "机制",
    "operation_type": "作业类别",
    "order": "责令事项",
    "organ_name": "接收机关名称",
    "outlet": "媒体",
    "party_name": "当事人",
    "persons": "人员",
    "places": "检查地点",
    "principal_amount_yuan": "对主要负责人罚款（元）",
    "principal_decision_number": "对主要负责人决定书文号",
    "principal_name": "主要负责人",
    "published_in": "公布渠道",
    "receiving_organ": "接收机关",
    "reward_yuan": "奖励金额（元）",
    "sector": "行业领域",
    "sessions": "期数",
    "stage": "阶段",
    "summary": "线索摘要",
    "target": "对象",
    "target_name": "对象名称",
    "target_type": "对象类型",
    "title": "标题",
    "topic": "主题",
    "town_id": "镇街",
    "traffic": "交通运输领域",
    "units_visited": "巡查单位",
    "vehicle_type": "车辆类型",
    "verified": "查实",
    "work_safety": "安全生产方面的处罚",
}

FLAGS = {
    "evidence.plan_missing": "缺检查方案或宣讲方案",
    "evidence.photos_missing": "缺现场照片",
    "evidence.minutes_missing": "缺纪要或文件",
    "evidence.document_missing": "缺制度文件",
    "evidence.notice_missing": "缺文件或通知",
    "evidence.publication_missing": "缺公布链接或截图",
}


def choices(field: Any) -> dict[str, str]:
    """An enumerated field's values as printed: its description lists them as
    ``code: 标签; code: 标签`` (backend/services/records/kinds.py)."""
    parts = str(field.metadata.get("description") or "").split(";")
    if len(parts) < 2:
        return {}  # one "a: b" is a sentence, not a list of choices
    out = {}
    for part in parts:
        code, sep, label = part.strip().rpartition(": ")
        code = code.rsplit(" ", 1)[-1]  # "泉州 … 金额: pre_incident: 事前立案"
        if sep and code.isidentifier():
            out[code] = label.strip()
    return out


def flag(code: str) -> str:
    return FLAGS.get(code, code)
