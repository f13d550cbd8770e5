"""流程定义：列表、版本、校验、部署 (/api/v1)."""
from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("processes", __name__, description="流程定义：列表、版本、校验、部署")
