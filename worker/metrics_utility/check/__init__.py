"""`metrics-utility check`: the preflight that says, in seconds, whether the first scheduled run can work.

`outcomes` is the pure core (results, reasons, exit code, summary; classifying what a peer answered), `probes` the
thin I/O edge (PostgreSQL, storage, console.redhat.com, Prometheus). Reasons are `contract.CHECK_REASONS`.
"""
