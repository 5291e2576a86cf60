"""A verifier of C2SP signed checkpoints written from the specs alone (c2sp.org/signed-note,
c2sp.org/tlog-checkpoint), sharing no code with ``ledger.tlog``: the cross-check."""

from __future__ import annotations

import base64
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def spec_key_id(name: str, public_key: bytes) -> bytes:
    """key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4]"""
    return hashlib.sha256(name.encode() + b"\x0a" + b"\x01" + public_key).digest()[:4]


def spec_vkey(name: str, public_key: bytes) -> str:
    key = base64.standard_b64encode(b"\x01" + public_key).decode()
    return name + "+" + spec_key_id(name, public_key).hex() + "+" + key


def spec_sign(text: str, name: str, private: Ed25519PrivateKey) -> str:
    """A signed note: text, a blank line, '— name base64(key id || signature)' lines."""
    public = private.public_key().public_bytes_raw()
    signature = private.sign(text.encode())
    encoded = base64.standard_b64encode(spec_key_id(name, public) + signature).decode()
    return text + "\n" + "\u2014 " + name + " " + encoded + "\n"


def spec_verify_checkpoint(note: str, vkey: str) -> tuple[str, int, bytes]:
    """(origin, tree size, root) of a checkpoint signed by ``vkey``; AssertionError if not."""
    name, hex_id, key64 = vkey.split("+", 2)
    raw = base64.standard_b64decode(key64)
    assert raw[0] == 0x01 and len(raw) == 33, "Ed25519 key"
    public = raw[1:]
    assert spec_key_id(name, public).hex() == hex_id, "key id"
    assert note.endswith("\n")
    cut = note.rindex("\n\n")  # the text is separated by the last empty line
    text, signatures = note[: cut + 1], note[cut + 2 :]
    verified = False
    for line in signatures.splitlines():
        assert line.startswith("\u2014 ")
        signer, encoded = line[2:].split(" ")
        blob = base64.standard_b64decode(encoded)
        if signer != name or blob[:4] != bytes.fromhex(hex_id):
            continue  # unknown keys are ignored
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(blob[4:], text.encode())
        except InvalidSignature as error:
            raise AssertionError("bad signature") from error
        verified = True
    assert verified, "no signature by the key"
    origin, size, root, rest = text.split("\n", 3)
    assert rest == ""
    assert size == "0" or (size.isdigit() and not size.startswith("0"))
    return origin, int(size), base64.standard_b64decode(root)
