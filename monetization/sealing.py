"""Secrets at rest: AES-256-GCM (``cryptography``) with keys derived from settings.

One primitive for every domain that must keep a secret it has to use again later (an
organization's SSO client secret, a webhook endpoint's signing secret).
``AZORA_SSO_ENCRYPTION_KEY`` holds one secret or several, comma-separated: the first seals,
every one opens (rotation: put the new one first, keep the old until every secret was
written again; :meth:`Sealer.is_current` tells a value sealed under an older key). A
sealed value reads ``v1.<key id>.<base64url(nonce || ciphertext)>``, the
key id being the first 4 bytes of SHA-256 of the derived key; the associated data binds it
to its owner (an organization's secret cannot be moved to another's row).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "v1"
NONCE_BYTES = 12
HKDF_INFO = b"azora sealed secrets v1"


class SealError(Exception):
    """A sealed value that no configured key opens (a wrong or removed key, tampering)."""


def _derive(secret: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO)
    return hkdf.derive(secret.encode("utf-8"))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class Sealer:
    def __init__(self, secrets: Sequence[str]) -> None:
        assert secrets, "at least one key"
        self._keys: list[tuple[str, AESGCM]] = []
        for secret in secrets:
            key = _derive(secret)
            self._keys.append((hashlib.sha256(key).hexdigest()[:8], AESGCM(key)))

    def seal(self, plaintext: str, owner: str) -> str:
        key_id, aead = self._keys[0]
        nonce = os.urandom(NONCE_BYTES)
        sealed = aead.encrypt(nonce, plaintext.encode("utf-8"), owner.encode("utf-8"))
        return f"{VERSION}.{key_id}.{_b64(nonce + sealed)}"

    def is_current(self, sealed: str) -> bool:
        """Whether ``sealed`` is a sealed value under the key that seals now."""
        version, key_id = [*sealed.split("."), "", ""][:2]
        return version == VERSION and key_id == self._keys[0][0]

    def open(self, sealed: str, owner: str) -> str:
        version, key_id, body = [*sealed.split("."), "", ""][:3]
        keys = [aead for kid, aead in self._keys if kid == key_id]
        if version != VERSION or not keys:
            raise SealError("no configured key opens this value")
        try:
            data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return keys[0].decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], owner.encode()).decode()
        except (InvalidTag, ValueError):
            raise SealError("the sealed value does not open: tampered, or another key") from None
