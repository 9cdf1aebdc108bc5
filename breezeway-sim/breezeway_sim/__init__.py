"""Simulator of the Breezeway public REST API (tests, demo, benchmarks)."""
