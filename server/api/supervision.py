"""督查：逾期与汇总 (/api/v1)."""
from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("supervision", __name__, description="督查：逾期与汇总")
