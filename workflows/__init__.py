"""cadreflow's engine and domain layer: no Flask, no marshmallow, no HTTP."""
