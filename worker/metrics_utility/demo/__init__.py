"""A synthetic automation-controller database for the demo, the tests and the benchmarks.

`pgcluster` starts a throwaway PostgreSQL server, `schema` holds a faithful subset of the AWX DDL, `generator` fills
it with seeded, realistic and awkward data, and `database` ties them together into a ready controller database.
"""
