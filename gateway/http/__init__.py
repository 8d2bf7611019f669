"""The HTTP edge: the middleware every request passes (request id, problem documents, the log
line, observers), the `/v1/{adapter}/{operation}` dispatch, the purpose trail, `/healthz` and
`/readyz`, the typed keys a request carries, and the contract (`/openapi.json`, `/docs`).
May import: the top-level modules (`bus`, `problems`, `ids`), `adapters`, `schemas`; no
other room.
"""
