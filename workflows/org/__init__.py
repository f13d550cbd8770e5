"""Org units (province → city → county) and the people who use cadreflow."""
