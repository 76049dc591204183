"""主流媒体: the maintained list of official outlets, as 填表说明 11 (seed 000) names them.

Each outlet's sub-channels (newspaper, television, app, 微信公众号, 微博, 抖音号) count as the
outlet. "荔城在线" counts as a county (县(区)) outlet, as the rule says. Add an outlet here, with
its level, when a notice names it; a record can only name an outlet on this list.
"""

from __future__ import annotations

LEVELS: dict[str, str] = {
    "national": "中央",
    "provincial": "省级",
    "municipal": "市级",
    "county": "县(区)级",
}

# code -> (name as printed, level)
OUTLETS: dict[str, tuple[str, str]] = {
    "peoples_daily": ("人民日报", "national"),
    "xinhua": ("新华社", "national"),
    "cmg": ("中央广播电视总台", "national"),
    "guangming_daily": ("光明日报", "national"),
    "economic_daily": ("经济日报", "national"),
    "china_daily": ("中国日报", "national"),
    "china_news": ("中新社", "national"),
    "fujian_daily": ("福建日报", "provincial"),
    "fujian_media_group": ("福建广播影视集团", "provincial"),
    "meizhou_daily": ("湄洲日报", "municipal"),
    "putian_evening": ("莆田晚报", "municipal"),
    "putian_tv": ("莆田广播电视台", "municipal"),
    "licheng_online": ("荔城在线", "county"),
}

CHANNELS: dict[str, str] = {
    "newspaper": "报纸",
    "television": "电视",
    "radio": "广播",
    "app": "客户端",
    "wechat": "微信公众号",
    "weibo": "微博",
    "douyin": "抖音号",
    "website": "网站",
    "other": "其他新媒体平台",
}
