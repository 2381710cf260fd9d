"""Benchmarks: `make bench` (python -m bench.run).

- bench.seed: a synthetic service (100,000 records over ten years, 5,000
  active) written with bulk inserts, with due moments placed so that only
  planted work falls due.
- bench.run: seeds, measures (dashboard and baseline, record page, breach
  POST, gunicorn over HTTP and a worker's memory, sweeps with nothing and
  with 1,000 items due, delivery to an SMTP sink, sweeps at a tenth of the
  data) and writes bench/results.json.

See docs/running.md for the figures and what they mean.
"""
