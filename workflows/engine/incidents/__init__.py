"""Incidents: a timer firing that fails or runs past its budget, recorded on its instance and
retried with backoff (the records and the sweep's side; people's side: workflows/incidents)."""
