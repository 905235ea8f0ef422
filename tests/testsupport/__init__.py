"""Helpers shared by tests: the strict Kubernetes API emulator, a fake CronJob controller, kubectl, the operator."""
