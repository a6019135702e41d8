"""Benchmarks (``make bench``): each ``bench_*.py`` module exposes ``main()`` and prints ratios against peers
measured in the same run. Run one with ``python -m benchmarks NAME``."""
