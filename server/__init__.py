"""Flask app factory. For now: a landing page and a health check; API and UI come later."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask, jsonify, render_template_string
from sqlalchemy import Integer, func, select

from server import api, assets, auth, errors
from workflows import settings as stored_settings
from workflows.models import HumanTask, Instance

if TYPE_CHECKING:
    from server.cli import Runtime

_LANDING = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>cadreflow 干部问责与容错纠错流程</title></head><body>
<h1>cadreflow</h1><p>干部问责与容错纠错流程系统 · 当前时间 {{ now }}</p>
<table border="1" cellpadding="4"><tr><th>角色</th><th>单位</th><th>待办</th><th>逾期</th></tr>
{% for r in rows %}<tr><td>{{ r.role }}</td><td>{{ r.org_unit or '-' }}</td><td>{{ r.open }}</td><td>{{ r.overdue }}</td></tr>{% endfor %}
</table><p>流程实例：{{ instances }}</p></body></html>"""


def create_app(runtime: Runtime | None = None, **config: Any) -> Flask:
    from server.cli import Runtime

    rt = runtime or Runtime()
    app = Flask(__name__)
    app.config.update(config)
    app.extensions["cadreflow"] = rt
    app.config.setdefault("SESSION_COOKIE_SECURE", rt.settings.secure_cookies)
    assets.init_app(app)
    api.init_app(app)
    errors.register(app)  # after the API: its handlers replace flask-smorest's
    auth.init_app(app)

    @app.get("/healthz")
    def healthz() -> Any:
        with rt.db.reading() as session:
            session.execute(select(1))
        return jsonify(status="ok")

    @app.get("/")
    def landing() -> Any:
        with rt.db.reading() as session:
            stored_settings.sync_clock(session, rt.clock)
            now = rt.clock.now()
            overdue = func.sum(
                (HumanTask.due_at.is_not(None) & (HumanTask.due_at < now)).cast(Integer)
            )
            rows = session.execute(
                select(HumanTask.role, HumanTask.org_unit, func.count().label("open"),
                       overdue.label("overdue"))
                .where(HumanTask.state == "open").group_by(HumanTask.role, HumanTask.org_unit)
                .order_by(HumanTask.role, HumanTask.org_unit)
            ).all()
            count = session.execute(select(func.count()).select_from(Instance)).scalar()
        return render_template_string(_LANDING, rows=rows, instances=count,
                                      now=now.astimezone(rt.clock.tz).strftime("%Y-%m-%d %H:%M"))

    return app


