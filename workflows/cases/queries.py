"""Moved to workflows/cases/views.py (the read side of cases) and workflows/cadres/views.py.

Kept only while server/ui/export.py still builds the case export from `case_rows`; it goes
when the export reads `views.case_list`."""

from workflows.cases.views import CaseFilters, case_rows

__all__ = ["CaseFilters", "case_rows"]
