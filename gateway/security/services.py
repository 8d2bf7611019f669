"""`GET /v1/services`: the operations this client may call, with their schemas (X-Road's
allowedMethods). Field groups are listed as granted or withheld, never their contents."""

from __future__ import annotations

import functools
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from gateway.http.operations import REGISTRY
from gateway.security.authentication import CLIENT


@functools.cache
def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


async def services(request: web.Request) -> web.Response:
    """The operations this client may call, with their schemas."""
    client = request[CLIENT]
    listed = []
    for adapter in request.app[REGISTRY]:
        for operation in adapter.operations.values():
            if not client.rights.allows(adapter.name, operation.name):
                continue
            granted = client.rights.groups(adapter.name, operation.name)
            groups = sorted(operation.field_groups)
            visible = groups if "*" in granted else [g for g in groups if g in granted]
            listed.append(
                {
                    "adapter": adapter.name,
                    "operation": operation.name,
                    "path": f"/v1/{adapter.name}/{operation.name}",
                    "summary": operation.summary,
                    "personal_data": operation.personal_data,
                    "write": operation.write,
                    "field_groups": {
                        "granted": visible,
                        "withheld": [g for g in groups if g not in visible],
                    },
                    "request_schema": _schema(operation.request_model),
                    "response_schema": _schema(operation.response_model),
                }
            )
    return web.json_response({"client_id": client.client_id, "services": listed})
