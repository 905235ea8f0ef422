"""The incremental gather: plan windows, collect, package, ship, and advance watermarks only after confirmed puts."""
