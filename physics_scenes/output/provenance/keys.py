"""The local signing identity: a CA and a signer certificate made by ``keys init``.

C2PA refuses a self-signed end-entity certificate, so ``keys init`` makes two: a local
root CA (10 years) and a signer it certifies (2 years; EKU emailProtection, which the
C2PA SDK accepts by default). Readers report such a signature **valid but untrusted**
unless they trust the root: it proves the file is unchanged since *this machine's*
signer signed it, not who that signer is. A certificate from a CA in the C2PA trust
list (``--sign-with CERT KEY``) is needed for that.

Where: ``$PHYSICS_SCENES_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/physics_scenes``, else
``~/.config/physics_scenes``; the key file is created 0600.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CONFIG_ENV = "PHYSICS_SCENES_CONFIG_DIR"
CHAIN, KEY, ROOT = "signer-chain.pem", "signer-key.pem", "root-ca.pem"


def config_dir() -> Path:
    """Where the local identity lives (see the module's docstring)."""
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "physics_scenes"


@dataclass(frozen=True, slots=True)
class Identity:
    """A certificate chain (signer first, PEM) and its private key (PEM)."""

    chain: bytes
    key: bytes
    source: str
    """Where it came from, for messages: 'local (…)' or the certificate's path."""

    def algorithm(self) -> str:
        """The C2PA signing algorithm for the key: ES256/ES384/ES512, PS256 or ED25519."""
        key = serialization.load_pem_private_key(self.key, None)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return {256: "ES256", 384: "ES384", 521: "ES512"}.get(key.curve.key_size, "ES256")
        if isinstance(key, rsa.RSAPrivateKey):
            return "PS256"
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return "ED25519"
        raise ValueError(f"{self.source}: a {type(key).__name__} cannot sign C2PA manifests")

    def signer_name(self) -> str:
        cert = x509.load_pem_x509_certificate(self.chain)
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(names[0].value) if names else cert.subject.rfc4514_string()


def local_identity() -> Identity | None:
    """The identity ``keys init`` made, or None when there is none."""
    folder = config_dir()
    try:
        return Identity((folder / CHAIN).read_bytes(), (folder / KEY).read_bytes(),
                        f"local ({folder})")  # fmt: skip
    except FileNotFoundError:
        return None


def signing_identity(sign_with: Sequence[Path] | None, no_sign: bool) -> Identity | None:
    """What a render or story signs with: none with ``--no-sign``, ``--sign-with CERT KEY``
    if given (ValueError with the reason if unusable), else the local identity if
    ``keys init`` made one."""
    if no_sign:
        return None
    if sign_with is None:
        return local_identity()
    cert, key = sign_with
    return load_identity(cert, key)


def watermark_secret(path: Path) -> bytes:
    """The secret of keyed marks (``--watermark-key FILE``): the file's bytes, at least 16
    of them. ``ValueError`` says why a file cannot be one."""
    try:
        secret = path.read_bytes()
    except OSError as error:
        raise ValueError(f"--watermark-key {path}: {error.strerror}") from None
    if len(secret) < 16:
        raise ValueError(f"--watermark-key {path}: a key needs at least 16 bytes")
    return secret


def load_identity(cert: Path, key: Path) -> Identity:
    """``--sign-with CERT KEY``: PEM files; raises ValueError with the reason."""
    try:
        chain, secret = cert.read_bytes(), key.read_bytes()
    except OSError as error:
        raise ValueError(f"--sign-with: {error.filename}: {error.strerror}") from None
    try:
        x509.load_pem_x509_certificates(chain)
        serialization.load_pem_private_key(secret, None)
    except ValueError as error:
        raise ValueError(f"--sign-with: not a PEM certificate chain and key: {error}") from None
    identity = Identity(chain, secret, str(cert))
    identity.algorithm()  # a key type C2PA cannot use fails here, before the render
    return identity


def _name(common: str) -> x509.Name:
    organisation = x509.NameAttribute(NameOID.ORGANIZATION_NAME, "physics_scenes local")
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common), organisation])


def make_identity(
    common_name: str, now: datetime.datetime | None = None
) -> tuple[bytes, bytes, bytes]:
    """(root CA PEM, signer chain PEM, signer key PEM), all new (ECDSA P-256)."""
    now = now or datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"{common_name} root CA")
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                       critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    signer = (
        x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(ca_name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=730))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                       critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    pem = serialization.Encoding.PEM
    secret = key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())  # fmt: skip
    return ca.public_bytes(pem), signer.public_bytes(pem) + ca.public_bytes(pem), secret


def init_identity(common_name: str, force: bool = False) -> Path:
    """Write a new local identity into ``config_dir()``; returns the folder.

    Raises FileExistsError when one exists and ``force`` is not set.
    """
    folder = config_dir()
    if (folder / KEY).exists() and not force:
        raise FileExistsError(f"{folder / KEY} exists (use --force to replace it)")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    root, chain, secret = make_identity(common_name)
    for name, data, mode in ((KEY, secret, 0o600), (CHAIN, chain, 0o644), (ROOT, root, 0o644)):
        temp = folder / f".{name}.tmp"
        temp.unlink(missing_ok=True)
        descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        temp.replace(folder / name)
    return folder


def trust_anchors() -> bytes | None:
    """The local root CA's PEM, for ``verify`` to report our own signatures as trusted."""
    try:
        return (config_dir() / ROOT).read_bytes()
    except FileNotFoundError:
        return None
