"""系统管理：用户、单位、日历、设置、时钟、审计 (/api/v1)."""
from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("admin", __name__, description="系统管理：用户、单位、日历、设置、时钟、审计")
