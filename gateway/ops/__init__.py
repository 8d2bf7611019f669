"""Operators: the `/ops` sub-application behind the operator credential, the dashboard page,
queue health, dead letters, maintenance mode, Prometheus metrics and per-service statistics.
May import: `http/`, `security/` (the operator credential), the top-level modules, `adapters`,
`schemas`; nothing imports it but `app.py` and `cli/`.
"""
