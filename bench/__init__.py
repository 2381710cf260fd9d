"""Benchmarks: `make bench` (python -m bench.run).

- bench.seed: a synthetic service (100,000 records over ten years, 5,000
  active) written with bulk inserts, with due moments placed so that only
  planted work falls due.
- bench.run: seeds each scale (BENCH_SCALES, 1 and 10), measures every page
  against an honest floor and the lightest signed-in page, interleaved, with
  statement counts and growth ratios; at the first scale also the breach POST,
  gunicorn over HTTP, load, sweeps with 1,000 items due and delivery (unless
  BENCH_QUICK); writes bench/results-<engine>.json.

See bench/README.md for the latest figures and how to reproduce them.
"""
