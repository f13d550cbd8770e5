"""站内通知 (/api/v1)."""
from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("notifications", __name__, description="站内通知")
