"""Error documents never carry personal data in clear, whichever hop wrote them.

An edge observer (gateway/http/edge.py): every problem document's `title`,
`detail` and validation messages pass through the same masking as log lines
(adapters/logs.py), so an identifier a central system echoed in its error, or a
value pydantic quoted, leaves the gateway masked.
"""

from __future__ import annotations

import orjson
from aiohttp import web

from adapters.logs import mask_text
from schemas.problems import PROBLEM_CONTENT_TYPE


async def mask_problem_documents(
    _request: web.Request, response: web.StreamResponse, _duration: float
) -> web.StreamResponse | None:
    """Mask personal data in a problem document's text, in place."""
    if response.content_type != PROBLEM_CONTENT_TYPE or not isinstance(response, web.Response):
        return None
    raw = response.text  # bytes or a string payload alike
    if raw is None:
        return None
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    for key in ("title", "detail"):
        if isinstance(document.get(key), str):
            document[key] = mask_text(document[key])
    for error in document.get("errors") or ():
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            error["message"] = mask_text(error["message"])
    masked = orjson.dumps(document)
    if masked != raw.encode():
        response.body = masked
    return None
