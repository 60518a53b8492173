"""Benchmarking metrics against human scores: data sets, metrics, resumable scoring, the table."""
