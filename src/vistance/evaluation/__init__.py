"""Metrics with article-bootstrap confidence intervals, paired tests, comparison reports."""
