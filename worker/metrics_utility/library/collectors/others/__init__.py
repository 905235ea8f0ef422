"""Collectors that read sources other than the controller database."""
