"""The openssl recipe in docs/security.md makes certificates a strict X.509 verifier accepts.

Python 3.13 verifies strictly by default (VERIFY_X509_STRICT) on both ends of a connection;
these tests ask for the same strictness explicitly, so they check it on 3.11 and 3.12 too.
The handshake runs in memory (ssl.MemoryBIO), with the gateway's own server context.
"""

from __future__ import annotations

import datetime as dt
import re
import ssl
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.security.tls import fingerprint, server_ssl_context
from schemas.security import TlsSettings

DOC = Path(__file__).parents[2] / "docs" / "security.md"
HEADING = "### Certificates a strict verifier accepts"


def recipe() -> str:
    """The first `sh` block under the heading: the commands an operator copies."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index(HEADING) :]
    found = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert found is not None, f"no sh block under {HEADING!r} in {DOC}"
    return found.group(1)


def strict(context: ssl.SSLContext) -> ssl.SSLContext:
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    return context


def gateway_context(folder: Path, cert: str, key: str, ca: str) -> ssl.SSLContext:
    tls = TlsSettings(
        cert_file=folder / cert,
        key_file=folder / key,
        client_ca_file=folder / ca,
        require_client_cert=True,
    )
    context = server_ssl_context(tls)
    assert context is not None
    return context


def client_context(folder: Path, cert: str, key: str, ca: str) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=folder / ca)
    context.load_cert_chain(folder / cert, folder / key)
    return context


def handshake(server: ssl.SSLContext, client: ssl.SSLContext, host: str) -> bytes:
    """Completes a TLS handshake between the two contexts; the client certificate the
    server verified (DER). Raises the verification error of whichever side refused."""
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    server_in, client_in = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls_client = client.wrap_bio(client_in, to_server, server_hostname=host)
    tls_server = server.wrap_bio(server_in, to_client, server_side=True)
    pending = {"client": True, "server": True}
    for _ in range(10):
        for side, end, outgoing, incoming in (
            ("client", tls_client, to_server, server_in),
            ("server", tls_server, to_client, client_in),
        ):
            if pending[side]:
                try:
                    end.do_handshake()
                    pending[side] = False
                except ssl.SSLWantReadError:
                    pass
            incoming.write(outgoing.read())
        if not any(pending.values()):
            break
    assert not any(pending.values()), f"handshake did not finish: {pending}"
    der = tls_server.getpeercert(binary_form=True)
    assert der is not None
    return der


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The recipe, run as documented in a fresh folder."""
    folder = tmp_path_factory.mktemp("pki")
    subprocess.run(
        ["bash", "-euo", "pipefail", "-c", recipe()],
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return folder


def dns_name(certificate: Path) -> str:
    cert = x509.load_pem_x509_certificate(certificate.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return str(names.get_values_for_type(x509.DNSName)[0])


def test_the_documented_certificates_pass_a_strict_mutual_handshake(made: Path) -> None:
    server = strict(gateway_context(made, "gateway.crt", "gateway.key", "ca.crt"))
    client = strict(client_context(made, "one-stop-hp.crt", "one-stop-hp.key", "ca.crt"))
    der = handshake(server, client, dns_name(made / "gateway.crt"))
    # What the gateway maps to a client is the fingerprint the docs tell operators to take.
    client_der = x509.load_pem_x509_certificate((made / "one-stop-hp.crt").read_bytes())
    assert fingerprint(der) == fingerprint(client_der.public_bytes(serialization.Encoding.DER))


def test_the_documented_client_certificate_is_refused_as_a_server(made: Path) -> None:
    """Each certificate is for its purpose only (extended key usage)."""
    server = strict(gateway_context(made, "one-stop-hp.crt", "one-stop-hp.key", "ca.crt"))
    client = strict(client_context(made, "one-stop-hp.crt", "one-stop-hp.key", "ca.crt"))
    with pytest.raises(ssl.SSLCertVerificationError, match="unsuitable certificate purpose"):
        handshake(server, client, "one-stop-hp")


def bare_certificate(
    name: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    signer: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
) -> x509.Certificate:
    """Basic constraints only: what the project's tests used to make, and what a strict
    verifier refuses."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
    )
    return builder.sign(signer, hashes.SHA256())


def write_pem(
    folder: Path, name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> None:
    (folder / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / f"{name}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def test_certificates_without_key_identifiers_are_refused_only_when_strict(
    tmp_path: Path,
) -> None:
    """The control: the handshake above can fail, and fails for the reason 3.13 gives."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = bare_certificate("bare CA", ca_key, None, ca_key, ca=True)
    write_pem(tmp_path, "ca", ca, ca_key)
    for name in ("gateway.test", "clinic"):
        key = ec.generate_private_key(ec.SECP256R1())
        write_pem(tmp_path, name, bare_certificate(name, key, ca, ca_key, ca=False), key)
    server = gateway_context(tmp_path, "gateway.test.crt", "gateway.test.key", "ca.crt")
    client = client_context(tmp_path, "clinic.crt", "clinic.key", "ca.crt")
    server.verify_flags &= ~ssl.VERIFY_X509_STRICT
    client.verify_flags &= ~ssl.VERIFY_X509_STRICT
    handshake(server, client, "gateway.test")  # accepted by a lenient verifier (3.11, 3.12)
    with pytest.raises(ssl.SSLCertVerificationError, match="Missing Authority Key Identifier"):
        handshake(server, strict(client), "gateway.test")
    client.verify_flags &= ~ssl.VERIFY_X509_STRICT
    with pytest.raises(ssl.SSLCertVerificationError, match="Missing Authority Key Identifier"):
        handshake(strict(server), client, "gateway.test")
