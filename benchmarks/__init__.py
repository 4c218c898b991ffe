"""Benchmarks of the tap and the target against a local HubSpot sandbox.

Run them with ``bash scripts/benchmark`` (``--quick`` for a short run).
"""
