"""The documented Python API: collectors, packaging, storage, extractors, dataframes, reports and helpers.

Nothing here reads environment variables or touches Kubernetes; the CLI adapts configuration to these calls.
"""
