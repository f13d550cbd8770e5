"""The engine core: the SpiffWorkflow wrapper, expressions, calendar, the locked
instance path, projections, timers, the scheduler, the audit chain and the hooks the
domain registers. It never imports a domain package (tests/test_layering.py).
"""
