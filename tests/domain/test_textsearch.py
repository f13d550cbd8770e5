"""Search boxes take what was typed literally: `%` and `_` are characters, not wildcards."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support.world import World, make_world
from workflows import access
from workflows.cadres import views as cadre_views
from workflows.cadres.models import Cadre
from workflows.runtime import Runtime
from workflows.textsearch import matching


@pytest.fixture
def world(rt: Runtime) -> World:
    return make_world(rt, processes=[])


def _names(rt: Runtime, text: str) -> list[str]:
    with rt.db.reading() as session:
        principal = access.principal_for(session, username="organization.hf")
        found = cadre_views.cadre_page(
            session, principal=principal, text=text, page=1, per_page=200
        )
        return [cadre.name for cadre in found.items]


def test_wildcards_are_characters_and_case_does_not_matter(world: World, rt: Runtime) -> None:
    with rt.db.transaction() as session:
        session.add_all(
            [
                Cadre(name=name, post=post, org_unit_code="ah-hf", created_at=rt.clock.now())
                for name, post in (
                    ("王五", "100%完成率考核组组长"),
                    ("赵六", "IT_Center 主任"),
                    ("钱七", "ITxCenter 副主任"),
                    ("孙八", "a\\b 科员"),
                )
            ]
        )
    assert _names(rt, "%") == ["王五"]
    assert _names(rt, "it_center") == ["赵六"]  # not 钱七: _ is not "any one character"
    assert _names(rt, "itxcenter") == ["钱七"]
    assert _names(rt, "a\\b") == ["孙八"]
    assert _names(rt, "局长") == ["张三"] and len(_names(rt, "  ")) == len(_names(rt, ""))
    assert _names(rt, "王\x00") == []  # nothing stored holds a NUL (and PostgreSQL would refuse it)


def test_no_text_is_no_condition() -> None:
    assert matching(None, Cadre.name) is None and matching("   ", Cadre.name) is None
    assert matching("x", Cadre.name) is not None and str(
        select(Cadre.id).where(matching("x", Cadre.name))
    )
