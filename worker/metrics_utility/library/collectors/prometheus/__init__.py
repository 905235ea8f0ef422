"""Collectors that read Prometheus: `total_workers_vcpu`, the cluster's vCPU count per hour (docs/vcpu.md)."""
