"""Cadres, their promotion bans and promotion eligibility."""
