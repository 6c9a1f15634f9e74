"""ShipEngine's webhook signatures: RSA-SHA256 (PKCS#1 v1.5) over "<timestamp>.<raw body>", with
the public key published as a JWKS document. Both sides live here, so the receiver (which
verifies) and the sandbox (which signs like ShipEngine) agree on one definition.

Headers: `x-shipengine-rsa-sha256-key-id`, `x-shipengine-rsa-sha256-signature` (base64) and
`x-shipengine-timestamp`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

logger = logging.getLogger("shiptrack.shipengine")

KEY_ID_HEADER = "x-shipengine-rsa-sha256-key-id"
SIGNATURE_HEADER = "x-shipengine-rsa-sha256-signature"
TIMESTAMP_HEADER = "x-shipengine-timestamp"


# -- keys ------------------------------------------------------------------------------------
def generate_signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def load_or_create_signing_key(path: Path) -> rsa.RSAPrivateKey:
    """A key kept in a file, so that every process on a machine (the web server verifying, a
    command delivering) uses the same one. The first process to need it writes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        key = generate_signing_key()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        with path.open("xb") as fh:  # exclusive create: the first process wins
            fh.write(pem)
        path.chmod(0o600)
        return key
    except FileExistsError:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise ValueError(f"{path} does not hold an RSA private key") from None
        return loaded


def key_id_for(public_key: rsa.RSAPublicKey) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sandbox-" + hashlib.sha256(der).hexdigest()[:16]


# -- JWK -------------------------------------------------------------------------------------
def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64url_int(value: Any) -> int:
    encoded = str(value)
    return int.from_bytes(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)), "big")


def public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, str]:
    numbers = public_key.public_numbers()
    return {
        "kty": "RSA",
        "kid": key_id_for(public_key),
        "use": "sig",
        "alg": "RS256",
        "n": _b64url_uint(numbers.n),
        "e": _b64url_uint(numbers.e),
    }


def keys_from_jwks(document: Any) -> dict[str, rsa.RSAPublicKey]:
    """The RSA keys of a JWKS document, by key id; entries that are not RSA keys are skipped."""
    keys: dict[str, rsa.RSAPublicKey] = {}
    entries = document.get("keys") if isinstance(document, Mapping) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping) or entry.get("kty") != "RSA" or not entry.get("kid"):
            continue
        try:
            numbers = rsa.RSAPublicNumbers(_b64url_int(entry["e"]), _b64url_int(entry["n"]))
            keys[str(entry["kid"])] = numbers.public_key()
        except (KeyError, ValueError, binascii.Error):
            logger.warning("webhook JWKS: skipping unreadable key %r", entry.get("kid"))
    return keys


# -- signing and verifying ----------------------------------------------------------------------
def _signed_text(timestamp: str, body: bytes) -> bytes:
    return timestamp.encode() + b"." + body


def sign(key: rsa.RSAPrivateKey, body: bytes, timestamp: str) -> dict[str, str]:
    """The three signature headers for `body` sent at `timestamp`."""
    signature = key.sign(_signed_text(timestamp, body), padding.PKCS1v15(), hashes.SHA256())
    return {
        KEY_ID_HEADER: key_id_for(key.public_key()),
        SIGNATURE_HEADER: base64.b64encode(signature).decode(),
        TIMESTAMP_HEADER: timestamp,
    }


def decode_signature(value: str) -> bytes | None:
    """The signature bytes from its base64 header, or None when it is not base64."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def is_valid(public_key: rsa.RSAPublicKey, signature: bytes, timestamp: str, body: bytes) -> bool:
    try:
        public_key.verify(
            signature, _signed_text(timestamp, body), padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature:
        return False
    return True
