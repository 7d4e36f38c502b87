"""Benchmarks of the bonus engine against the local emulation (a moto server in a process
of its own). Not tests: run them with `python -m bench.ingest` and `python -m bench.compute`;
docs/PERFORMANCE.md has the figures and what they mean."""
