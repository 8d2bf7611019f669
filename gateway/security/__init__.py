"""Security: who is calling and what they may do, as separate steps (authentication, rate limit,
rights), signed tokens and `POST /token`, OAuth2 discovery (RFC 8414 metadata, the JWKS), the
client store, TLS and client certificates, and the operator credential. May import: `http/`,
the top-level modules, `adapters`, `schemas`. `tokens.py` imports nothing of the gateway.
"""
