"""Ed25519 signatures over digests and checkpoints, with a private key kept outside the log.

The private key lives in a file outside the lake root and outside the log store:
``$LAKEWARD_AUDITLOG_KEY`` if set, else ``$XDG_CONFIG_HOME/lakeward/auditlog-<lake>.key``
(``~/.config`` when ``XDG_CONFIG_HOME`` is unset). It is created (mode 0600) on first use.
The public key is stored in every signed statement, so ``verify`` works anywhere; give
``verify`` a trusted public key to also catch statements signed by some other key.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from lakeward.auditlog.chain import key_fingerprint
from lakeward.errors import LakeError

__all__ = [
    "KEY_ENV",
    "AuditKeyError",
    "Signer",
    "default_key_path",
    "load_public_key",
    "verify_signature",
]

KEY_ENV = "LAKEWARD_AUDITLOG_KEY"
"""Environment variable naming the private key file (overrides the default path)."""


class AuditKeyError(LakeError):
    """The audit log's signing key (or a public key given to verify) cannot be used."""


def default_key_path(lake_name: str, environ: Mapping[str, str] | None = None) -> Path:
    """Return where the signing key of a lake lives.

    >>> default_key_path("acme", {"XDG_CONFIG_HOME": "/cfg"}).as_posix()
    '/cfg/lakeward/auditlog-acme.key'
    >>> default_key_path("acme", {"LAKEWARD_AUDITLOG_KEY": "/keys/a.key"}).as_posix()
    '/keys/a.key'
    """
    env = os.environ if environ is None else environ
    if env.get(KEY_ENV):
        return Path(env[KEY_ENV]).expanduser()
    config_home = env.get("XDG_CONFIG_HOME")
    base = Path(config_home) if config_home else Path.home() / ".config"
    return base / "lakeward" / f"auditlog-{lake_name}.key"


def _raw_public(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


class Signer:
    """Signs statements with one Ed25519 private key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = _raw_public(private_key.public_key())
        """Hex of the raw 32-byte public key."""
        self.key_id = key_fingerprint(self.public_key)

    @classmethod
    def generate(cls) -> Signer:
        """A signer with a fresh key that is never written anywhere (for tests)."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: Path) -> Signer:
        """Read a PEM (PKCS#8) Ed25519 private key.

        Raises:
            AuditKeyError: The file is missing, readable by others, or not an Ed25519 key.
        """
        try:
            mode = path.stat().st_mode
            data = path.read_bytes()
        except FileNotFoundError:
            raise AuditKeyError(
                f"no audit log signing key at {path}: append to the log once to create it, "
                f"or point {KEY_ENV} at the key file"
            ) from None
        except OSError as exc:
            raise AuditKeyError(f"cannot read the audit log key {path}: {exc}") from exc
        if mode & 0o077:
            raise AuditKeyError(
                f"the audit log key {path} is readable by other users (mode {mode & 0o777:o}): "
                f"run `chmod 600 {path}`"
            )
        return cls(_private_from_pem(data, path))

    @classmethod
    def load_or_create(cls, path: Path) -> Signer:
        """Load the key at ``path``, creating it (mode 0600) if there is none.

        Several processes may race to create it: the key is written to a temporary file
        and linked into place, so exactly one key wins and every process uses it.

        Raises:
            AuditKeyError: The key exists but cannot be used, or cannot be written.
        """
        if not path.exists():
            _create_key(path)
        return cls.load(path)

    def sign(self, payload: bytes) -> str:
        """Return the base64 Ed25519 signature of ``payload``."""
        return base64.b64encode(self._key.sign(payload)).decode("ascii")

    def public_key_pem(self) -> str:
        """The public key as PEM (``SubjectPublicKeyInfo``), to hand to verifiers."""
        return (
            self._key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )


def _private_from_pem(data: bytes, path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise AuditKeyError(f"{path} is not a PEM private key without password: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditKeyError(f"{path} holds a {type(key).__name__}, not an Ed25519 private key")
    return key


def _create_key(path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        staging = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
            os.link(staging, path)
        except FileExistsError:
            pass  # another process created the key first: use theirs
        finally:
            staging.unlink(missing_ok=True)
    except OSError as exc:
        raise AuditKeyError(
            f"cannot create the audit log key {path}: {exc}; set {KEY_ENV} to a writable path"
        ) from exc


def verify_signature(public_key_hex: str, payload: bytes, signature: str) -> bool:
    """Return whether ``signature`` (base64) is a valid signature of ``payload``.

    Never raises on malformed input: a bad key or signature is simply not valid.
    """
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
        key.verify(base64.b64decode(signature, validate=True), payload)
    except (ValueError, binascii.Error, InvalidSignature):
        return False
    return True


def load_public_key(path: Path) -> str:
    """Read a trusted public key: PEM public key, PEM private key, or 64 hex digits.

    Returns:
        The hex of the raw public key.

    Raises:
        AuditKeyError: The file is missing or holds no Ed25519 key.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AuditKeyError(f"cannot read the public key {path}: {exc}") from exc
    text = data.decode("ascii", errors="replace").strip()
    if len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text):
        return text.lower()
    if b"PRIVATE KEY" in data:
        return _raw_public(_private_from_pem(data, path).public_key())
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise AuditKeyError(
            f"{path} is not a public key (PEM or 64 hex digits): {exc}; "
            "`lakeward auditlog public-key` prints the log's key"
        ) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise AuditKeyError(f"{path} holds a {type(key).__name__}, not an Ed25519 public key")
    return _raw_public(key)
