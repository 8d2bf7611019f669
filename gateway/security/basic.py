"""HTTP Basic credentials (RFC 7617), parsed one way for `/token` clients and operators."""

from __future__ import annotations

import base64
import binascii
import urllib.parse


def basic_credentials(header: str) -> tuple[str, str] | None:
    """(user, password) from an `Authorization: Basic ...` value; None when it is not one.

    Both parts are form-urlencoded before Basic encoding (RFC 6749 §2.3.1); a
    password without such escapes decodes to itself.
    """
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None
    return urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(password)
