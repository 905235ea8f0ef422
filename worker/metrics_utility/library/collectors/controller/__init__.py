"""Collectors that read the automation controller's PostgreSQL database (read-only)."""
