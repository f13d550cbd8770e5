"""Every table's model, imported in one place for migrations and tests."""

from workflows.cadres import models as cadre_models  # noqa: F401
from workflows.cases import models as case_models  # noqa: F401
from workflows.documents import models as document_models  # noqa: F401
from workflows.engine import models
from workflows.engine.incidents import models as incident_models  # noqa: F401
from workflows.official import models as official_models  # noqa: F401
from workflows.org import models as org_models  # noqa: F401
from workflows.tasks import models as task_models  # noqa: F401
from workflows.tasks import outbox as outbox_models  # noqa: F401

Base = models.Base
