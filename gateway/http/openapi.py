"""`GET /openapi.json` and `GET /docs`: the HTTP contract, generated at start from the registry.

The same `Registry` that routes and validates describes the operations here:
request and response schemas are the operations' pydantic models, shared as
`#/components/schemas` entries; a new adapter package appears with no edit.
The document is public and holds no personal data (its examples are the
operations' synthetic ones). `/docs` renders it with Swagger UI, whose assets
the gateway serves itself from the `swagger-ui-py` package: government
networks are often offline.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from adapters.interface import Adapter, Operation
from adapters.registry import Registry
from gateway.http import openapi_responses, openapi_routes
from gateway.http.edge import REQUEST_ID_HEADER, REQUEST_ID_RE
from gateway.http.openapi_routes import OWN_MODELS, SECURITY, Refs
from gateway.http.operations import IDEMPOTENCY_HEADER, IDEMPOTENCY_RE, REGISTRY, TIMEOUT_HEADER
from gateway.http.purpose import PURPOSE_HEADERS
from schemas.config import Settings

OPENAPI_DOCUMENT: web.AppKey[bytes] = web.AppKey("openapi_document")
REF = "#/components/schemas/{model}"
DOCS_ASSETS = "/docs/assets"


def _anchored(pattern: str) -> str:
    # JSON Schema patterns search; the gateway's checks match the whole value.
    return f"^(?:{pattern})$"


def _header(
    name: str, description: str, schema: dict[str, Any], *, required: bool
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": required,
        "description": description,
        "schema": schema,
    }


def _parameters(settings: Settings) -> dict[str, dict[str, Any]]:
    purpose = {
        "OfficerId": ("LGSP-Officer-Id", "the officer who accesses the data"),
        "ProcedureCode": ("LGSP-Procedure-Code", "the administrative procedure (national code)"),
        "CaseId": ("LGSP-Case-Id", "the case file the access is for"),
    }
    found = {
        key: _header(
            name,
            f"Purpose trail, required on personal data: {what} ({PURPOSE_HEADERS[name][1]}).",
            {"type": "string", "pattern": _anchored(PURPOSE_HEADERS[name][0].pattern)},
            required=True,
        )
        for key, (name, what) in purpose.items()
    }
    found["IdempotencyKey"] = _header(
        IDEMPOTENCY_HEADER,
        "Required on writes: a repeat with the same key gets the same answer and causes no "
        "second effect; the same key with another body is a 409.",
        {"type": "string", "pattern": _anchored(IDEMPOTENCY_RE.pattern)},
        required=True,
    )
    found["Timeout"] = _header(
        TIMEOUT_HEADER,
        "Seconds the caller will wait; shortens the operation's deadline (504 when it passes).",
        {
            "type": "number",
            "minimum": settings.gateway.min_timeout,
            "maximum": settings.gateway.max_timeout,
        },
        required=False,
    )
    found["RequestId"] = _header(
        REQUEST_ID_HEADER,
        "Echoed when well-formed, otherwise a new one is generated; it names the request in "
        "every log line and audit record.",
        {"type": "string", "pattern": _anchored(REQUEST_ID_RE.pattern)},
        required=False,
    )
    return found


def _component_schemas(
    registry: Registry,
) -> tuple[Refs, dict[str, Any]]:
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = list(OWN_MODELS)
    for adapter in registry:
        for operation in adapter.operations.values():
            wanted += [(operation.request_model, "validation")]
            wanted += [(operation.response_model, "serialization")]
    unique = list(dict.fromkeys(wanted))
    refs, document = models_json_schema(unique, ref_template=REF)
    by_model: Refs = {}
    for (model, mode), ref in refs.items():
        if isinstance(model, type) and issubclass(model, BaseModel):
            by_model[(model, mode)] = dict(ref)
    defs: dict[str, Any] = document.get("$defs", {})
    return by_model, defs


def _clean_name(key: str) -> str:
    """`schemas__business__Sex` -> `BusinessSex`, `Sex-Input` -> `SexInput`: generator-safe."""
    parts = [p for p in re.split(r"__|-|\.", key) if p and p != "schemas"]
    return "".join(p[:1].upper() + p[1:] for p in parts)


def _tidy_names(document: dict[str, Any]) -> dict[str, Any]:
    """Component names a client generator can turn into classes, each its schema's title.

    Pydantic qualifies a name it finds twice (two `Sex` enums); generators name classes
    after titles, so two schemas titled `Sex` would collide.
    """
    components = document["components"]["schemas"]
    renames = {key: _clean_name(key) for key in components if _clean_name(key) != key}
    if len(set(components) - set(renames) | set(renames.values())) != len(components):
        raise ValueError(f"component names collide once tidied: {sorted(renames)}")
    document["components"]["schemas"] = {renames.get(k, k): v for k, v in components.items()}
    for key, schema in document["components"]["schemas"].items():
        schema["title"] = key
    prefix = REF.removesuffix("{model}")

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(prefix):
                name = ref.removeprefix(prefix)
                node = {**node, "$ref": prefix + renames.get(name, name)}
            return {k: rewrite(v) for k, v in node.items()}
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    tidied: dict[str, Any] = rewrite(document)
    return tidied


def _referenced(schema: dict[str, Any]) -> list[str]:
    """The component names a property schema points at (through anyOf, items, ...)."""
    names: list[str] = []
    ref = schema.get("$ref")
    if isinstance(ref, str):
        names.append(ref.rsplit("/", 1)[-1])
    for key in ("anyOf", "oneOf", "allOf"):
        for member in schema.get(key, ()):
            names += _referenced(member)
    if isinstance(schema.get("items"), dict):
        names += _referenced(schema["items"])
    return names


def _optional_field_groups(
    operation: Operation[Any], response: str, components: dict[str, Any]
) -> None:
    """Fields in a field group are removed for clients without the group: never required."""
    for group, paths in sorted(operation.field_groups.items()):
        for path in paths:
            *parents, leaf = path.split(".")
            current = [response]
            for part in parents:
                current = [
                    name
                    for owner in current
                    for name in _referenced(components[owner]["properties"].get(part, {}))
                ]
            for owner in current:
                schema = components[owner]
                if leaf in schema.get("required", ()):
                    schema["required"] = [f for f in schema["required"] if f != leaf]
                    if not schema["required"]:
                        del schema["required"]
                field = schema["properties"][leaf]
                note = f"Withheld unless the client is granted the `{group}` field group."
                known = field.get("description", "")
                if note not in known:  # a model shared by two operations is noted once
                    field["description"] = f"{known} {note}".strip()


def _operation_object(
    adapter: Adapter[Any],
    operation: Operation[Any],
    refs: Refs,
) -> dict[str, Any]:
    parameters = [{"$ref": "#/components/parameters/RequestId"}]
    parameters.append({"$ref": "#/components/parameters/Timeout"})
    if operation.personal_data:
        parameters += [
            {"$ref": f"#/components/parameters/{name}"}
            for name in ("OfficerId", "ProcedureCode", "CaseId")
        ]
    if operation.write:
        parameters.append({"$ref": "#/components/parameters/IdempotencyKey"})
    answered: dict[str, Any] = {REQUEST_ID_HEADER: {"$ref": "#/components/headers/RequestId"}}
    if operation.personal_data:
        answered[openapi_responses.AUDIT_RECEIPT_HEADER] = {
            "$ref": "#/components/headers/AuditReceipt"
        }
    body: dict[str, Any] = {"schema": refs[(operation.request_model, "validation")]}
    if operation.example is not None:
        body["example"] = operation.example
    notes = [operation.summary]
    if operation.personal_data:
        notes.append("Personal data: the purpose trail headers are required, and audited.")
    if operation.write:
        notes.append("A write: send an `Idempotency-Key`.")
    if operation.field_groups:
        groups = ", ".join(f"`{g}`" for g in sorted(operation.field_groups))
        notes.append(f"Response field groups granted per client: {groups}.")
    return {
        "operationId": f"{adapter.name}_{operation.name}".replace("-", "_"),
        "summary": operation.summary,
        "description": "\n\n".join(notes),
        "tags": [adapter.name],
        "security": SECURITY,
        "parameters": parameters,
        "requestBody": {"required": True, "content": {"application/json": body}},
        "responses": {
            "200": {
                "description": "The operation's answer (fields of withheld groups removed).",
                "headers": answered,
                "content": {
                    "application/json": {
                        "schema": refs[(operation.response_model, "serialization")]
                    }
                },
            },
            **{
                str(status): openapi_responses.ref(status)
                for status in openapi_responses.error_statuses(write=operation.write)
            },
        },
        "x-lgsp-personal-data": operation.personal_data,
        "x-lgsp-write": operation.write,
        "x-lgsp-field-groups": {g: list(p) for g, p in sorted(operation.field_groups.items())},
    }


def build_openapi(registry: Registry, settings: Settings) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the gateway with the adapters of `registry`."""
    refs, components = _component_schemas(registry)
    paths: dict[str, Any] = {}
    tags = []
    for adapter in registry:
        tags.append({"name": adapter.name, "description": adapter.title})
        for operation in adapter.operations.values():
            response = refs[(operation.response_model, "serialization")]["$ref"].rsplit("/", 1)[-1]
            _optional_field_groups(operation, response, components)
            paths[f"/v1/{adapter.name}/{operation.name}"] = {
                "post": _operation_object(adapter, operation, refs)
            }
    paths.update(openapi_routes.own_paths(refs))
    tags += [
        {"name": "auth", "description": "Access tokens"},
        {"name": "discovery", "description": "What a client may call, and how to verify tokens"},
        {"name": "health", "description": "Liveness and readiness"},
    ]
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "LGSP Gateway",
            "version": _version(),
            "description": "One HTTP contract for the local systems of a province: get a token "
            "from `/token`, then `POST` JSON to `/v1/{adapter}/{operation}`. Errors are RFC 9457 "
            "problem documents; branch on their `type`.",
        },
        "servers": [{"url": "/"}],
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": components,
            "parameters": _parameters(settings),
            "headers": openapi_responses.headers(),
            "responses": openapi_responses.responses(),
            "securitySchemes": {
                "oauth2": {
                    "type": "oauth2",
                    "description": "Client credentials; the token is a short-lived EdDSA JWT.",
                    "flows": {"clientCredentials": {"tokenUrl": "/token", "scopes": {}}},
                },
                "clientBasic": {"type": "http", "scheme": "basic"},
            },
        },
    }
    return _tidy_names(document)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lgsp-gateway")
    except PackageNotFoundError:
        return "0"


# -- the routes ------------------------------------------------------------------------------------


def swagger_ui_assets() -> Path:
    """Swagger UI's files as the `swagger-ui-py` package ships them (no import of its helpers)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed: it ships the assets of /docs")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


async def openapi_json(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI_DOCUMENT], content_type="application/json")


# The page may load nothing from elsewhere: a browser enforces what the package promises.
DOCS_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'"
)


def _static(name: str) -> str:
    from importlib import resources

    return resources.files("gateway.http").joinpath("static", name).read_text(encoding="utf-8")


async def docs(_request: web.Request) -> web.Response:
    return web.Response(
        text=_static("docs.html"),
        content_type="text/html",
        headers={"Content-Security-Policy": DOCS_POLICY},
    )


async def docs_script(_request: web.Request) -> web.Response:
    return web.Response(text=_static("docs.js"), content_type="text/javascript")


def install(app: web.Application, settings: Settings) -> None:
    """Build the document once from the app's registry; serve it and its page."""
    document = build_openapi(app[REGISTRY], settings)
    app[OPENAPI_DOCUMENT] = orjson.dumps(document)
    app.router.add_get("/openapi.json", openapi_json)
    app.router.add_get("/docs", docs)
    app.router.add_get("/docs/init.js", docs_script)
    app.router.add_static(DOCS_ASSETS, swagger_ui_assets())
