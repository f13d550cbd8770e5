"""Official documents (公文, DOMAIN.md §7): 决定书 and the rest, generated from DOCX templates
when a decision is taken, kept as 案件材料 with a PDF beside, served with a 送达回证.

`register` adds the completion listener (issue on the deciding step, service on the 送达
step), the recorded tables a 退回 supersedes, the audit completeness rule and the PDF
conversion job."""

from sqlalchemy import select

from workflows.engine.hooks import Registry
from workflows.official import pdf, service
from workflows.official.models import OfficialDocument

RECORDS = frozenset({"official_document", "official_service"})
#: Every generated document has its `official_document.generate` audit row.
GENERATED = (
    select(OfficialDocument.id, OfficialDocument.kind, OfficialDocument.number).order_by(
        OfficialDocument.id
    ),
    lambda row: f"公文 {row.id}（{row.number or row.kind}）已生成",
)


def register(registry: Registry) -> None:
    registry.add_module(service)
    registry.recorded_tables.update(RECORDS)
    registry.audited_record("official_document.generate", *GENERATED)
    registry.every("official-document-pdf", pdf.convert_pending, min_interval=pdf.INTERVAL_FLOOR)
