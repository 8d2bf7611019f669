"""HTTPS with client certificates made in the test: a certificate maps to a client id.

Both ends verify as strictly as Python 3.13 does by default (VERIFY_X509_STRICT), on every
interpreter, so the certificates must carry what a strict verifier requires."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.security.tls import fingerprint, server_ssl_context
from mocks.settings import MockSettings
from schemas.security import TlsSettings
from tests.integration.security_support import EVERYTHING, bearer
from tests.support.rabbit import Rabbit
from tests.support.stack import PURPOSE, running_stack
from tests.support.waiting import free_port

Key = ec.EllipticCurvePrivateKey
VERIFY = "/v1/population/citizen-verify"
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH


def certificate(
    name: str, key: Key, issuer: tuple[x509.Certificate, Key] | None, *, ca: bool = False
) -> x509.Certificate:
    """A certificate with the extensions a strict X.509 verifier requires (Python 3.13's
    default, VERIFY_X509_STRICT): basic constraints, key usage, and the subject and authority
    key identifiers, which chain each certificate to its issuer's key."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    signer = issuer[1] if issuer else key
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(key_usage(ca=ca), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
        )
    )
    if not ca:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if name == "localhost" else CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if name == "localhost":
        san = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(signer, hashes.SHA256())


def key_usage(*, ca: bool) -> x509.KeyUsage:
    """A CA signs certificates (and revocation lists); a leaf's EC key signs the handshake."""
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def write(tmp: Path, name: str, cert: x509.Certificate, key: Key) -> tuple[Path, Path]:
    cert_file, key_file = tmp / f"{name}.crt", tmp / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class Pki:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca = certificate("LGSP test CA", ca_key, None, ca=True)
        self.ca_file, _ = write(tmp, "ca", self.ca, ca_key)
        self.files: dict[str, tuple[Path, Path]] = {}
        self.prints: dict[str, str] = {}
        for name in ("localhost", "clinic", "stranger"):
            key = ec.generate_private_key(ec.SECP256R1())
            cert = certificate(name, key, (self.ca, ca_key))
            self.files[name] = write(tmp, name, cert, key)
            self.prints[name] = fingerprint(cert.public_bytes(serialization.Encoding.DER))
        self_key = ec.generate_private_key(ec.SECP256R1())
        self.files["self-signed"] = write(
            tmp, "self-signed", certificate("clinic", self_key, None), self_key
        )

    def client_context(self, name: str | None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file)
        context.verify_flags |= ssl.VERIFY_X509_STRICT  # 3.13's default, asked for on 3.11 too
        if name is not None:
            context.load_cert_chain(*self.files[name])
        return context


async def test_client_certificates_identify_clients(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
    tmp_path: Path,
) -> None:
    pki = Pki(tmp_path)
    cert_file, key_file = pki.files["localhost"]
    tls = TlsSettings(
        cert_file=cert_file,
        key_file=key_file,
        client_ca_file=pki.ca_file,
        require_client_cert=True,
    )
    clinic = {"allow": ["population/citizen-verify"], "certificates": [pki.prints["clinic"]]}
    auth = {"clients": {"tests": EVERYTHING, "clinic": clinic}}
    async with running_stack(rabbit, mock_settings, generated, auth=auth, tls=tls) as stack:
        context = server_ssl_context(stack.settings.tls)
        assert context is not None
        context.verify_flags |= ssl.VERIFY_X509_STRICT  # as the gateway verifies on 3.13
        assert stack.client.server.runner is not None
        port = free_port()
        site = web.TCPSite(stack.client.server.runner, "127.0.0.1", port, ssl_context=context)
        await site.start()
        base = f"https://127.0.0.1:{port}"

        async def session(name: str | None) -> aiohttp.ClientSession:
            connector = aiohttp.TCPConnector(ssl=pki.client_context(name))
            return aiohttp.ClientSession(base, connector=connector)

        async with await session("clinic") as s:
            # RFC 8705 tls_client_auth: the certificate is the credential, no secret needed.
            async with s.post("/token", data={"grant_type": "client_credentials"}) as r:
                assert r.status == 200
                token = (await r.json())["access_token"]
            async with s.post(VERIFY, json=citizen, headers={**PURPOSE, **bearer(token)}) as r:
                assert r.status == 200
                assert (await r.json())["matched"] is True
            # Another client's token over this client's certificate is refused.
            other = bearer(stack.token("tests"))
            async with s.post(VERIFY, json=citizen, headers={**PURPOSE, **other}) as r:
                assert r.status == 401

        async with await session("stranger") as s:  # signed by the CA, mapped to nobody
            async with s.post("/token", data={"grant_type": "client_credentials"}) as r:
                assert r.status == 401
            async with s.get("/v1/services", headers=bearer(stack.token("clinic"))) as r:
                assert r.status == 401

        for name in (None, "self-signed"):  # no certificate, or one the CA never signed
            async with await session(name) as s:
                with pytest.raises((aiohttp.ClientError, ssl.SSLError)):
                    async with s.get("/v1/services") as r:
                        await r.read()
        # Plain HTTP to the TLS port is no way around it either.
        async with aiohttp.ClientSession() as s:
            with pytest.raises(aiohttp.ClientError):
                async with s.get(f"http://127.0.0.1:{port}/v1/services") as r:
                    await r.read()
        await site.stop()
