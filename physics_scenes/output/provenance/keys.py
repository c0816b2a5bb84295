"""The local signing identity: a CA and a signer certificate made by ``keys init``.

C2PA refuses a self-signed end-entity certificate, so ``keys init`` makes two: a local
root CA (10 years) and a signer it certifies (2 years; EKU emailProtection, which the
C2PA SDK accepts by default). Readers report such a signature **valid but untrusted**
unless they trust the root: it proves the file is unchanged since *this machine's*
signer signed it, not who that signer is. A certificate from a CA in the C2PA trust
list (``--sign-with CERT KEY``) is needed for that.

Where: ``$PHYSICS_SCENES_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/physics_scenes``, else
``~/.config/physics_scenes``; the folder is created 0700, the key file 0600. A render or
story with neither ``--sign-with`` nor ``--no-sign`` makes this identity the first time
(``signing_identity``), so that every output is signed by default.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CONFIG_ENV = "PHYSICS_SCENES_CONFIG_DIR"
CHAIN, KEY, ROOT = "signer-chain.pem", "signer-key.pem", "root-ca.pem"
LOCK = ".keys.lock"
DEFAULT_NAME = "physics_scenes local signer"


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
    except (FileNotFoundError, NotADirectoryError):
        return None


@dataclass(frozen=True, slots=True)
class Signing:
    """What an output is signed with, and one line to tell the user (or None)."""

    identity: Identity | None
    note: str | None = None


def signing_identity(sign_with: Sequence[Path] | None, no_sign: bool) -> Signing:
    """What a render or story signs with: none with ``--no-sign``, ``--sign-with CERT KEY``
    if given (ValueError with the reason if unusable), else the local identity, made now
    (as ``keys init`` makes it) when there is none: signed by default. If it cannot be
    made (a read-only home), the output is unsigned and the note says why."""
    if no_sign:
        return Signing(None)
    if sign_with is not None:
        cert, key = sign_with
        return Signing(load_identity(cert, key))
    folder = config_dir()
    try:
        found = local_identity()
        if found is not None:
            return Signing(found)
        made = ensure_identity()
    except OSError as error:  # a read-only home, a file where the folder should be
        why = f"{folder}: {error.strerror or error}"
        return Signing(None, f"not signed: no local signing identity could be made ({why}); "
                             "--sign-with CERT KEY, or --no-sign")  # fmt: skip
    note = (f"made a local signing identity in {folder} (once; {KEY} is 0600): outputs are "
            f"signed, valid but untrusted elsewhere; for a trusted signer use --sign-with "
            f"CERT KEY (README: Provenance)")  # fmt: skip
    return Signing(made, note)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Holds an exclusive lock on the folder's lock file (renders started together make
    one identity, not two that overwrite each other); no lock where fcntl is missing."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    descriptor = os.open(folder / LOCK, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def ensure_identity(common_name: str = DEFAULT_NAME) -> Identity:
    """The local identity, made first when there is none (under a lock, so that renders
    started at once agree). OSError when it cannot be made, or when a key lies there
    without its certificate (``keys init --force`` replaces it)."""
    folder = config_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _locked(folder):
        found = local_identity()
        if found is None:
            if (folder / KEY).exists():
                raise FileExistsError(0, f"{KEY} is there without {CHAIN} (`physics-scenes "
                                         f"keys init --force` makes a new pair)")  # fmt: skip
            _write_identity(folder, common_name)
            found = local_identity()
    assert found is not None
    return found


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
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _locked(folder):
        if (folder / KEY).exists() and not force:
            raise FileExistsError(f"{folder / KEY} exists (use --force to replace it)")
        _write_identity(folder, common_name)
    return folder


def _write_identity(folder: Path, common_name: str) -> None:
    """The three files, each whole or absent; the chain last, as ``local_identity`` reads
    it first: a reader sees a complete identity or none."""
    root, chain, secret = make_identity(common_name)
    for name, data, mode in ((ROOT, root, 0o644), (KEY, secret, 0o600), (CHAIN, chain, 0o644)):
        temp = folder / f".{name}.tmp"
        temp.unlink(missing_ok=True)
        descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        temp.replace(folder / name)


def trust_anchors() -> bytes | None:
    """The local root CA's PEM, for ``verify`` to report our own signatures as trusted."""
    try:
        return (config_dir() / ROOT).read_bytes()
    except FileNotFoundError:
        return None
