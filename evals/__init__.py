"""Evaluation scripts: retrieval quality on public Arabic sets, run as ``python -m evals``."""
