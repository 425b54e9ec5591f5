"""Stage code for the nightly refresh: synthetic source systems, ingest, quality gates, publish.

Each module holds plain functions that can be tested without Dagster; orchestration/ wires them as assets.
"""
