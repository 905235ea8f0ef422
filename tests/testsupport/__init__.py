"""Helpers that start real peers for tests: Prometheus, S3 and HTTPS stand-ins, proxies, the strict Kubernetes API
emulator, a fake CronJob controller, kubectl, the operator."""
