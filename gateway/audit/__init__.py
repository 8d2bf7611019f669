"""The audit trail: the publisher that records every call (an edge observer), group commit,
the hash-chained append-only store and the writer that fills it. May import: `http/`, the
top-level modules, `adapters`, `schemas`; not `security/` or `ops/`.
"""
