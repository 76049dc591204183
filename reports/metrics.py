"""The metrics a template column may name: what each counts, in words.

``backend.services.reports`` computes them from the records as of a cut-off; the counting rules
of 附件2 填表说明 (seed 000) and of the notes under the forms are applied there, and docs/reports.md
lists them with the rule each applies. A template naming a metric not listed here is refused.
"""

from __future__ import annotations

from typing import Final, Literal

ValueType = Literal["count", "amount", "flag", "ratio"]

# metric id -> (value type, what it counts)
METRICS: Final[dict[str, tuple[ValueType, str]]] = {
    "hazards.general.found": ("count", "一般隐患 entered in the ledger in the period"),
    "hazards.general.rectified": ("count", "of those, 已整改 (rectified or closed) by the cut-off"),
    "hazards.major.self.found": (
        "count",
        "重大隐患 with a clause, reported by the enterprise (自查)",
    ),
    "hazards.major.self.rectified": ("count", "of those, 已整改 by the cut-off"),
    "hazards.major.department.found": ("count", "重大隐患 with a clause, found by a department"),
    "hazards.major.department.rectified": ("count", "of those, 已整改 by the cut-off"),
    "hazards.major.supervised.found": (
        "count",
        "重大隐患 under 挂牌督办 by the cut-off; params.listing_level (department or government) "
        "keeps the listings at that level",
    ),
    "hazards.major.supervised.rectified": ("count", "of those, 已整改 by the cut-off"),
    "hazards.all.found": ("count", "every hazard (一般 and 重大) entered in the period"),
    "hazards.all.rectified": ("count", "of those, 已整改 by the cut-off"),
    "hazards.all.rectified_in_period": (
        "count",
        "hazards rectified within the period, whenever found",
    ),
    "inspections.enterprise_visits": ("count", "inspections of enterprises, per visit (家次)"),
    "inspections.enterprises": ("count", "distinct enterprises inspected (家)"),
    "inspections.enterprises_with_defect": (
        "count",
        "distinct enterprises whose inspection found the defect of the item named in params.item",
    ),
    "assistance.towns": ("count", "帮扶指导 of a key town (个次); towns do not report it"),
    "assistance.enterprises": ("count", "帮扶指导 of a key enterprise (家次/个次)"),
    "penalties.count": ("count", "安全生产 行政处罚 decisions (traffic: 生产经营性车辆 only)"),
    "penalties.amount": ("amount", "their fines, 万元"),
    "penalties.amount.pre_incident": ("amount", "fines of 事前 penalties, 万元"),
    "penalties.amount.accident": ("amount", "fines of 事故 penalties, 万元"),
    "cases.pre_incident": ("count", "事前立案 cases"),
    "cases.accident": ("count", "事故立案 cases"),
    "dual_penalties.count": ("count", "一案双罚 decisions"),
    "judicial_referrals.persons": (
        "count",
        "persons referred to a procuratorate or court, or detained with a criminal case",
    ),
    "suspensions.enterprises": ("count", "enterprises ordered to suspend (责令停产(停业)整顿)"),
    "closures.enterprises": ("count", "enterprises closed (关闭取缔)"),
    "closures.requested": ("count", "enterprises whose closure was requested (提请关闭)"),
    "seizures.count": ("count", "查封、扣押、停电 measures (起)"),
    "licence_suspensions.count": ("count", "暂扣暂停有关证件 (件)"),
    "public_pressure.enterprises": ("count", "distinct enterprises 曝光、约谈 or 联合惩戒"),
    "public_pressure.exposure": ("count", "distinct enterprises 曝光"),
    "public_pressure.blacklist": ("count", "distinct enterprises 纳入黑名单"),
    "public_pressure.joint_punishment": ("count", "distinct enterprises 联合惩戒"),
    "clue_transfers.count": ("count", "案件线索移交"),
    "criminal_liability.persons": ("count", "persons 追究刑事责任"),
    "disciplinary.persons": ("count", "persons given 党政纪处分"),
    "typical_cases.count": ("count", "typical cases published, once per kind and sector"),
    "typical_cases.dangerous_operation_crime": ("count", "of those, 危险作业罪 cases"),
    "accountability.persons": (
        "count",
        "persons held accountable (责任倒查追责问责), from the 清单",
    ),
    "interview_notices.count": ("count", "约谈通报 of regions and departments, with 纪要或文件"),
    "supervision_visits.count": ("count", "督导检查 trips with plan and photos, one per trip"),
    "briefings.count": ("count", "宣讲 at enterprises with plan and photos of the leader there"),
    "trainings.sessions": ("count", "专题培训 sessions (场次)"),
    "trainings.attendees": (
        "count",
        "执法人员 attending 专题培训 (人次); other attendees not counted",
    ),
    "rewards.total": ("amount", "举报奖励 paid, 万元"),
    "rewards.anonymous_verified": ("amount", "of which 匿名举报查实奖励, 万元"),
    "media_columns.count": ("count", "专题栏目 in 主流媒体 of the maintained list"),
    "media_columns.any": ("flag", "是 when at least one such 专题栏目, else 否"),
    "certificates.count": ("count", "特种作业人员证书 issued (份)"),
    "cooperation_mechanisms.count": ("count", "协同机制 with their document"),
    "assessment_inspections.count": (
        "count",
        "考核巡查督导检查 with their 文件/通知, one per notice",
    ),
    "experts.persons": ("count", "experts engaged (聘请专家)"),
    "study_sessions.count": ("count", "专题学习 of the 党委 and the 政府"),
    "research_meetings.count": ("count", "专题研究 chaired by the principal of the 党委 or 政府"),
    "ratio": ("ratio", "numerator / denominator, in %, none when the denominator is 0"),
}
