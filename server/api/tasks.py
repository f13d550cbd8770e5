"""待办任务：队列、表单、办理、认领、委派、转办、催办、评论 (/api/v1)."""
from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("tasks", __name__, description="待办任务：队列、表单、办理、认领、委派、转办、催办、评论")
