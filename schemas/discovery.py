"""The gateway's own answers outside the operations: tokens, services, health, OAuth2 discovery.

The OpenAPI document (gateway/openapi.py) takes its schemas for these routes
from here. The discovery routes answer with these models; for `/token`,
`/v1/services` and health, the schemathesis run checks that their answers
match (tests/integration/test_conformance.py).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.problems import Problem


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TokenRequest(_Answer):
    """`POST /token` form fields (RFC 6749 §4.4); Basic authentication may carry the pair."""

    grant_type: Literal["client_credentials"]
    client_id: str | None = None
    client_secret: str | None = None


class TokenResponse(_Answer):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="seconds the token stays valid")


class TokenProblem(Problem):
    """A problem document that is also an RFC 6749 §5.2 error response."""

    error: Literal[
        "invalid_request", "unsupported_grant_type", "invalid_client", "temporarily_unavailable"
    ]


class FieldGroupAccess(_Answer):
    granted: list[str]
    withheld: list[str]


class ServiceEntry(_Answer):
    adapter: str
    operation: str
    path: str
    summary: str
    personal_data: bool
    write: bool
    field_groups: FieldGroupAccess
    request_schema: dict[str, Any]
    response_schema: dict[str, Any]


class ServiceList(_Answer):
    """`GET /v1/services`: the operations the calling client may call."""

    client_id: str
    services: list[ServiceEntry]


class Alive(_Answer):
    status: Literal["alive"]


class Ready(_Answer):
    status: Literal["ready"]


class AuthorizationServerMetadata(_Answer):
    """RFC 8414 §2: what a stock OAuth2 client needs to find and use the token endpoint."""

    issuer: str
    token_endpoint: str
    jwks_uri: str
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    response_types_supported: list[str]
    scopes_supported: list[str]
    service_documentation: str


class Jwk(_Answer):
    """An Ed25519 public key as an OKP JSON Web Key (RFC 8037)."""

    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str = Field(description="the public key, base64url without padding")
    kid: str
    alg: Literal["EdDSA"]
    use: Literal["sig"]


class JwkSet(_Answer):
    keys: list[Jwk]
