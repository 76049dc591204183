"""行业领域: the sectors an enterprise belongs to.

Labels are printed as the seeds print them: the eleven sectors of 海城市 plan 三、(一)-(十一)
(004), plus 有限空间作业 which 福州市 plan 三、(三) (002) treats as a key area of its own, and
其他 for the "其他重点领域" the same plan leaves open.
"""

from __future__ import annotations

SECTORS: dict[str, str] = {
    "mining": "矿山",
    "hazardous_chemicals": "危化品",
    "road_traffic": "道路交通",
    "construction": "建筑施工",
    "gas": "城镇燃气",
    "fire": "消防安全",
    "tourism": "旅游",
    "industry_trade": "冶金等工贸制造业",
    "special_equipment": "特种设备",
    "water_transport": "水上交通",
    "cyber_security": "网络安全",
    "confined_space": "有限空间作业",
    "other": "其他",
}
