"""Robustness tests: fuzzing, hostile input, outages and several workers.

Tests marked ``postgres_only`` need a real PostgreSQL server (an outage to cause, several
processes sharing one database); see ``tests/conftest.py``.
"""
