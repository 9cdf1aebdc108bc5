"""Benchmarks of the Breezeway → PostgreSQL pipeline, each measured against its anchor in
the same run on the same machine (see bench/README.md). Run with `python -m bench`."""
