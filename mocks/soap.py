"""SOAP 1.1 on the wire: safe parsing of requests, writing of answers and faults.

Requests are parsed with defusedxml with DTDs, entities and external
references all forbidden: a central system must not be the one that falls
to a billion-laughs body. Answers are written as strings rather than built
as element trees, because the population lookup is on a benchmark's hot
path and string joins are several times cheaper.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from xml.etree.ElementTree import Element

from aiohttp import web
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
#: The namespace of the population service's own elements.
NS = "urn:mock:csdl-dancu:v1"
CONTENT_TYPE = "text/xml; charset=utf-8"

_PROLOGUE = (
    '<?xml version="1.0" encoding="utf-8"?>'
    f'<soap:Envelope xmlns:soap="{SOAP_ENV}" xmlns:dc="{NS}"><soap:Body>'
)
_EPILOGUE = "</soap:Body></soap:Envelope>"
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})


class SoapFault(Exception):
    """A fault to answer with: a platform code, a message and an HTTP status.

    ``client`` says whose fault it is (SOAP ``Client`` or ``Server``).
    """

    def __init__(self, code: str, message: str, *, status: int = 500, client: bool = True) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.client = client


def escape(value: str) -> str:
    return value.translate(_ESCAPES)


def local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


def parse_operation(body: bytes, operation: str, malformed: str) -> Element:
    """The operation element inside ``Envelope/Body``, or a ``malformed`` fault.

    The envelope and the operation element must be in their namespaces
    (SOAP 1.1 and ``NS``); children are matched by local name.
    """
    try:
        root: Element = fromstring(
            body, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise SoapFault(malformed, f"XML không hợp lệ: {type(exc).__name__}") from exc
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise SoapFault(malformed, "Thiếu soap:Envelope (SOAP 1.1)")
    soap_body = root.find(f"{{{SOAP_ENV}}}Body")
    if soap_body is None or len(soap_body) != 1:
        raise SoapFault(malformed, "soap:Body phải chứa đúng một phần tử thao tác")
    element: Element = soap_body[0]
    if element.tag != f"{{{NS}}}{operation}":
        raise SoapFault(malformed, f"Phần tử thao tác phải là {{{NS}}}{operation}")
    return element


def children(element: Element) -> dict[str, Element]:
    """Direct children by local name (the last one wins on repeats)."""
    return {local_name(child.tag): child for child in element}


def text_of(fields: dict[str, Element], name: str) -> str | None:
    child = fields.get(name)
    if child is None:
        return None
    value = (child.text or "").strip()
    return value or None


def element(name: str, value: Any) -> str:
    """``<dc:name>value</dc:name>``, or "" when the value is None or ""."""
    if value is None or value == "":
        return ""
    return f"<dc:{name}>{escape(str(value))}</dc:{name}>"


def group(name: str, parts: Iterable[str]) -> str:
    """``<dc:name>...</dc:name>`` around already-written parts."""
    return f"<dc:{name}>{''.join(parts)}</dc:{name}>"


def envelope(content: str) -> bytes:
    return (_PROLOGUE + content + _EPILOGUE).encode()


def response(content: str, *, status: int = 200) -> web.Response:
    return web.Response(body=envelope(content), status=status, content_type="text/xml",
                        charset="utf-8")  # fmt: skip


def fault_response(fault: SoapFault, request_id: str | None = None) -> web.Response:
    """A SOAP 1.1 Fault. The platform code is in ``detail`` and, so that a
    caller can tell a platform refusal from a service failure without parsing
    XML, in the ``X-Road-Error`` header."""
    detail = (
        f"<detail><dc:LoiNghiepVu>{element('MaLoi', fault.code)}{element('MoTa', fault.message)}"
        f"{element('MaYeuCau', request_id)}</dc:LoiNghiepVu></detail>"
    )
    body = (
        f"<soap:Fault><faultcode>soap:{'Client' if fault.client else 'Server'}</faultcode>"
        f"<faultstring>{escape(fault.message)}</faultstring>{detail}</soap:Fault>"
    )
    reply = response(body, status=fault.status)
    reply.headers["X-Road-Error"] = fault.code
    return reply
