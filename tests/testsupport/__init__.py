"""Helpers that start real peers for tests (Prometheus, proxies)."""
