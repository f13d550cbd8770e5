"""干部档案、提拔资格、失信黑名单 (/api/v1)."""
from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("cadres", __name__, description="干部档案、提拔资格、失信黑名单")
