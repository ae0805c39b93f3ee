"""Certificates and credentials for the embedded control plane, made fresh for each start.

One CA signs every serving certificate (API server, webhooks, kwok's kubelet endpoint), so the
API server trusts the webhooks through ``caBundle`` and clients trust the API server through
the kubeconfig, exactly as on a real cluster. The admin client authenticates with a static
bearer token (``--token-auth-file``) and is in ``system:masters``; service accounts are signed
with their own RSA key. Everything is for 127.0.0.1 and lives one day.
"""

from __future__ import annotations

import datetime
import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

LIFETIME = datetime.timedelta(days=1)


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


@dataclass(frozen=True)
class Pki:
    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.folder / "ca.key"

    @property
    def token_file(self) -> Path:
        return self.folder / "tokens.csv"

    @property
    def service_account_key(self) -> Path:
        return self.folder / "service-account.key"

    @property
    def service_account_public(self) -> Path:
        return self.folder / "service-account.pub"

    def admin_token(self) -> str:
        return self.token_file.read_text().split(",", 1)[0]

    def ca_bundle(self) -> bytes:
        return self.ca.read_bytes()

    def client(self, name: str) -> tuple[Path, Path]:
        """(certificate, key) of the client certificate ``name`` (made by :func:`create`)."""
        return self.folder / f"client-{name}.crt", self.folder / f"client-{name}.key"

    def serving(self, name: str) -> tuple[Path, Path]:
        """(certificate, key) of the serving certificate ``name`` (made by :func:`create`)."""
        return self.folder / f"{name}.crt", self.folder / f"{name}.key"


def create(
    folder: Path,
    serving_names: tuple[str, ...],
    extra_ips: tuple[str, ...] = (),
    clients: tuple[tuple[str, str], ...] = (),
) -> Pki:
    """A CA, a serving certificate for 127.0.0.1/localhost (and ``extra_ips``, the real node's
    bridge address) per name, a client certificate per (common name, organisation) in
    ``clients``, the admin token and the service-account key pair, written to ``folder``
    (readable by the owner only)."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "seldon-pkg embedded cluster CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(folder)
    _write(pki.ca, ca_cert.public_bytes(serialization.Encoding.PEM))
    _write(pki.ca_key, _pem_key(ca_key))
    for name in serving_names:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + LIFETIME)
            .add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName("localhost"),
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                        # the in-cluster names the API server's own Service has
                        x509.DNSName("kubernetes.default.svc"),
                        *(x509.IPAddress(ipaddress.ip_address(ip)) for ip in extra_ips),
                    ]
                ),
                critical=False,
            )
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        certificate, private = pki.serving(name)
        _write(certificate, cert.public_bytes(serialization.Encoding.PEM))
        _write(private, _pem_key(key))
    for common_name, organisation in clients:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        subject.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(subject))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + LIFETIME)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        certificate, private = pki.client(common_name)
        _write(certificate, cert.public_bytes(serialization.Encoding.PEM))
        _write(private, _pem_key(key))
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write(pki.service_account_key, _pem_key(sa_key))
    _write(
        pki.service_account_public,
        sa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
    )
    # token,user,uid,"group1,group2"
    _write(pki.token_file, f'{secrets.token_urlsafe(32)},admin,admin,"system:masters"\n'.encode())
    return pki
