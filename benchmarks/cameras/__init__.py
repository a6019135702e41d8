"""The camera zoo benchmark (issue 13, item 5): synthetic cameras, the learned chain against its baselines.

``python -m benchmarks cameras`` (``make bench-cameras``); see ``runner.py`` and docs/cameras.md.
"""
