"""Kopf operator that runs metrics-utility for each `MetricsCollection` and reports what it did."""
