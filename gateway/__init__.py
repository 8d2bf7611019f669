"""LGSP Gateway: the HTTP edge, the bus client and the operator's tools.

Rooms (docs/architecture.md draws them):

- `http/`     the edge: middleware, operation dispatch, purpose trail, health
- `security/` who calls (authentication), how often (rate limits), what they may do (rights),
              tokens and `/token`, clients, TLS, the operator credential
- `audit/`    the audit trail: publisher, batching, the hash-chained store, its writer
- `ops/`      operators: the `/ops` sub-application, queues, dead letters, maintenance, metrics
- `cli/`      the `lgsp` command and its sub-commands

At the top: `app.py` (assembles the rooms), `server.py` (serves it), `bus.py` (the gateway's
side of RabbitMQ), `broker.py` (a private local RabbitMQ node), `problems.py` (problem
documents), `ids.py`, `config_file.py` and `private_files.py`. Arrows point one way:
`cli → ops, audit, security → http → (bus, problems, ids)`; nothing imports `cli/`, `http/`
imports none of the other rooms (tests/unit/test_layering.py keeps it so).
"""
