"""The gateway's own routes in the OpenAPI document: `/token`, `/v1/services`, health, discovery.

Their schemas are the models in schemas/discovery.py; `refs` maps each to its
`#/components/schemas` reference (gateway/openapi.py builds both).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode

from gateway.http.edge import REQUEST_ID_HEADER
from schemas import discovery
from schemas.problems import Problem

Refs = dict[tuple[type[BaseModel], JsonSchemaMode], dict[str, Any]]
SECURITY: list[dict[str, list[str]]] = [{"oauth2": []}]
# The gateway's own answers, described by the models that shape them.
OWN_MODELS: tuple[tuple[type[BaseModel], JsonSchemaMode], ...] = (
    (Problem, "serialization"),
    (discovery.TokenRequest, "validation"),
    (discovery.TokenResponse, "serialization"),
    (discovery.TokenProblem, "serialization"),
    (discovery.ServiceList, "serialization"),
    (discovery.Alive, "serialization"),
    (discovery.Ready, "serialization"),
    (discovery.AuthorizationServerMetadata, "serialization"),
    (discovery.JwkSet, "serialization"),
)


def _json(ref: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {REQUEST_ID_HEADER: {"$ref": "#/components/headers/RequestId"}},
        "content": {"application/json": {"schema": ref}},
    }


def own_paths(
    refs: Refs,
) -> dict[str, Any]:
    def ref(model: type[BaseModel], mode: JsonSchemaMode = "serialization") -> dict[str, Any]:
        return refs[(model, mode)]

    token_problem = {
        "content": {"application/problem+json": {"schema": ref(discovery.TokenProblem)}}
    }
    common = {
        "405": {"$ref": "#/components/responses/MethodNotAllowed"},
    }
    return {
        "/token": {
            "post": {
                "operationId": "token",
                "summary": "Issue an access token (OAuth2 client credentials, RFC 6749 §4.4)",
                "description": "Authenticate with HTTP Basic (client id and secret) or the "
                "`client_id`/`client_secret` form fields, or a client certificate over mTLS. "
                "Errors are problem documents that are also RFC 6749 §5.2 errors.",
                "tags": ["auth"],
                "security": [{"clientBasic": []}, {}],
                "parameters": [{"$ref": "#/components/parameters/RequestId"}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": ref(discovery.TokenRequest, "validation"),
                            "example": {"grant_type": "client_credentials"},
                        }
                    },
                },
                "responses": {
                    "200": _json(ref(discovery.TokenResponse), "A signed JWT access token."),
                    "400": {"description": "A malformed token request.", **token_problem},
                    "401": {
                        "description": "Client authentication failed.",
                        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
                        **token_problem,
                    },
                    "408": {"$ref": "#/components/responses/RequestTimeout"},
                    "413": {"$ref": "#/components/responses/TooLarge"},
                    "429": {
                        "description": "Too many failed authentications for this client id or "
                        "from this address: retry after Retry-After seconds.",
                        "headers": {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}},
                        **token_problem,
                    },
                    **common,
                },
            }
        },
        "/v1/services": {
            "get": {
                "operationId": "services",
                "summary": "The operations this client may call, with their schemas",
                "tags": ["discovery"],
                "security": SECURITY,
                "parameters": [{"$ref": "#/components/parameters/RequestId"}],
                "responses": {
                    "200": _json(ref(discovery.ServiceList), "This client's operations."),
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                    "429": {"$ref": "#/components/responses/RateLimited"},
                    **common,
                },
            }
        },
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "summary": "The process is alive",
                "tags": ["health"],
                "security": [],
                "responses": {"200": _json(ref(discovery.Alive), "Alive."), **common},
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "summary": "The gateway can serve: broker connected, every queue has a consumer",
                "tags": ["health"],
                "security": [],
                "responses": {
                    "200": _json(ref(discovery.Ready), "Ready."),
                    "503": {"$ref": "#/components/responses/Unavailable"},
                    **common,
                },
            }
        },
        "/.well-known/oauth-authorization-server": {
            "get": {
                "operationId": "authorization_server_metadata",
                "summary": "OAuth2 authorization server metadata (RFC 8414)",
                "tags": ["discovery"],
                "security": [],
                "responses": {
                    "200": _json(ref(discovery.AuthorizationServerMetadata), "The metadata."),
                    **common,
                },
            }
        },
        "/.well-known/jwks.json": {
            "get": {
                "operationId": "jwks",
                "summary": "The public keys that verify access tokens (current and rotated)",
                "tags": ["discovery"],
                "security": [],
                "responses": {
                    "200": _json(ref(discovery.JwkSet), "The key set (RFC 7517)."),
                    **common,
                },
            }
        },
    }
