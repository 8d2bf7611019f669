"""HTTPS for the gateway, and client certificates mapped to client ids (mTLS).

With `tls.cert_file`/`key_file` set the gateway serves HTTPS (TLS 1.2+). With
`client_ca_file` it asks for client certificates signed by that CA, and with
`require_client_cert` it refuses connections without one. A verified
certificate is mapped to a client by its SHA-256 fingerprint
(`certificates` in the client's table): it can then obtain tokens without a
secret (RFC 8705 tls_client_auth), and a token presented over that connection
must belong to the same client.
"""

from __future__ import annotations

import hashlib
import ssl

from aiohttp import web

from adapters.errors import ConfigError
from schemas.security import TlsSettings


def server_ssl_context(tls: TlsSettings) -> ssl.SSLContext | None:
    if tls.cert_file is None and tls.key_file is None:
        if tls.require_client_cert or tls.client_ca_file:
            raise ConfigError("client certificates need HTTPS: set tls.cert_file and tls.key_file")
        return None
    if tls.cert_file is None or tls.key_file is None:
        raise ConfigError("HTTPS needs both tls.cert_file and tls.key_file")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(tls.cert_file, tls.key_file)
    if tls.client_ca_file is not None:
        context.load_verify_locations(cafile=tls.client_ca_file)
        # As Python 3.13 does by default, on every interpreter: client certificates without the
        # extensions a strict verifier needs (key identifiers ...) are refused everywhere alike.
        context.verify_flags |= ssl.VERIFY_X509_STRICT
        context.verify_mode = ssl.CERT_REQUIRED if tls.require_client_cert else ssl.CERT_OPTIONAL
    elif tls.require_client_cert:
        raise ConfigError("tls.require_client_cert needs tls.client_ca_file to verify them with")
    return context


def fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def peer_fingerprint(request: web.Request) -> str | None:
    """The SHA-256 fingerprint of the client's verified certificate, if it presented one."""
    transport = request.transport
    if transport is None:
        return None
    ssl_object = transport.get_extra_info("ssl_object")
    if not isinstance(ssl_object, ssl.SSLObject):
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return fingerprint(der) if der else None
