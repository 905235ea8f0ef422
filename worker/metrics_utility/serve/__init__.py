"""`metrics-utility serve`: a read-only HTTP API (and the dashboard) over any storage.

`app.py` the routes, `params.py` the query parameters (pure), `access.py` who may ask, `openapi.py` the API
document; `commands/serve.py` wires them from settings (docs/serve.md).
"""
