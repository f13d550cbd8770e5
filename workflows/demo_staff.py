"""The demo's officials by name (DOMAIN.md §6: people are shown as 姓名（单位·岗位）): one
plausible 姓名 and 职务 for the user of each role in each demo unit (`<role>.<unit>`)."""

from __future__ import annotations

from workflows.roles import ROLES

#: 姓名, handed out in order: unit by unit, role by role (never a demo cadre's name).
_NAMES = (
    "张伟",
    "李娜",
    "王磊",
    "刘洋",
    "陈静",
    "杨帆",
    "黄敏",
    "赵军",
    "周涛",
    "吴霞",
    "徐斌",
    "孙丽",
    "胡杰",
    "朱红",
    "高峰",
    "林燕",
    "何勇",
    "郭婷",
    "马骏",
    "罗琳",
    "梁超",
    "宋佳",
    "郑毅",
    "谢芳",
    "韩冰",
    "唐亮",
    "冯雪",
    "于洋",
    "董健",
    "萧然",
    "程刚",
    "曹颖",
    "袁博",
    "邓丽",
    "许强",
    "傅敏",
    "沈阳",
    "曾辉",
    "彭程",
    "吕娟",
    "苏航",
    "卢鹏",
    "蒋琴",
    "蔡明",
    "贾宁",
    "丁磊",
    "魏华",
    "薛凯",
    "叶青",
    "阎涛",
    "余波",
    "潘婷",
    "杜鹃",
    "戴军",
    "夏雨",
    "钟诚",
)
#: 职务 per role; {party} is the unit's Party committee (省委, 市委, 县委, 区委), {office} the
#: level's word for a section (处 in the province and the cities, 科 in the counties).
_POSTS = {
    "discipline": "第一纪检监察室主任",
    "organization": "干部监督{office}{office}长",
    "functional": "审计局经济责任审计{office}{office}长",
    "committee": "{party}常委、秘书长",
    "unit": "办公室主任",
    "supervisor": "{party}督查室主任",
    "designer": "大数据中心流程设计员",
    "admin": "信息中心系统管理员",
}
#: The roles with a second clerk per unit (`<role>2.<unit>`): an appeal is accepted by an
#: organization clerk and reviewed by a discipline clerk who neither handled nor decided the
#: original case (回避), and one clerk of each usually did.
SECOND_CLERK_POSTS = {
    "discipline": "第二纪检监察室主任",
    "organization": "干部监督{office}副{office}长",
}
#: The second clerks' 姓名, handed out unit by unit (none of the names above, no cadre's).
_SECOND_NAMES = (
    "秦岭",
    "江涛",
    "范文",
    "石磊",
    "任杰",
    "姚远",
    "廖敏",
    "邹平",
    "熊伟",
    "金鑫",
    "陆洁",
    "郝明",
    "孔亮",
    "白雪",
)


def _words(level: str, unit_name: str) -> dict[str, str]:
    """The unit's Party committee and the level's word for a section, for the posts."""
    party = {"province": "省委", "city": "市委"}.get(level) or f"{unit_name[-1]}委"
    return {"party": party, "office": "科" if level == "county" else "处"}


def staff(units: list[tuple[str, str, str, str | None]]) -> dict[tuple[str, str], tuple[str, str]]:
    """(unit code, role) → (姓名, 职务) for the demo's officials of `units` (code, name, level, parent)."""
    names = iter(_NAMES)
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for code, unit_name, level, _parent in units:
        words = _words(level, unit_name)
        for role in ROLES:
            if role in _POSTS:
                found[(code, role)] = (next(names), _POSTS[role].format(**words))
    return found


def second_clerks(
    units: list[tuple[str, str, str, str | None]],
) -> dict[tuple[str, str], tuple[str, str]]:
    """(unit code, role) → (姓名, 职务) of the second clerk of SECOND_CLERK_POSTS' roles."""
    names = iter(_SECOND_NAMES)
    return {
        (code, role): (next(names), post.format(**_words(level, unit_name)))
        for code, unit_name, level, _parent in units
        for role, post in SECOND_CLERK_POSTS.items()
    }
