"""案件：立案、查询、详情、时间线、申诉、免责申请 (/api/v1)."""
from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("cases", __name__, description="案件：立案、查询、详情、时间线、申诉、免责申请")
