"""Work on a task besides completing it: claim, unclaim, delegate, transfer, urge (催办), comments."""
from __future__ import annotations

from server.api.tasks import blp  # noqa: F401
