"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 signatures.

A signed note is a text ending in a newline, a blank line, then one or more signature lines
``— <key name> base64(key id ‖ signature)``. The key id is the first 4 bytes of
``SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ 32-byte public key)``; the signature is Ed25519 (RFC 8032)
over the text, final newline included, separating blank line excluded. A verifier key is
written ``<name>+<hex key id>+<base64(0x01 ‖ public key)>``, and a signer key, as in
golang.org/x/mod/sumdb/note, ``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 ‖ seed)>``.

Parsing is strict: valid UTF-8 with no control character but the newline, canonical base64
(so one note has one spelling), at most :data:`MAX_SIGNATURES` signature lines and
:data:`MAX_NOTE_BYTES` bytes. Every failure is a :class:`NoteError` naming what is wrong.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature as _BadSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

ED25519 = 0x01  # the signature type byte of c2sp.org/signed-note
KEY_ID_BYTES = 4
PUBLIC_KEY_BYTES = 32
SEED_BYTES = 32
SIGNATURE_BYTES = 64
MAX_SIGNATURES = 16  # the spec asks verifiers to accept at least 16
MAX_NOTE_BYTES = 64 * 1024
EM_DASH_PREFIX = "\u2014 "
PRIVATE_PREFIX = "PRIVATE+KEY+"
UNNAMED = "unnamed"

_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_HEX_SEED = re.compile(r"(0x)?[0-9a-fA-F]{64}")


class NoteError(ValueError):
    """A note, key or signature that cannot be accepted; the message says why."""


class MalformedNote(NoteError):
    """Not a signed note by the format's rules."""


class MalformedKey(NoteError):
    """Not a key by the format's rules (or its id does not match it)."""


class UnverifiedNote(NoteError):
    """The note carries no signature by the expected key."""


class BadSignature(NoteError):
    """A signature by the expected key (name and id) that does not verify."""


def check_key_name(name: str) -> str:
    """``name`` if it is a valid key name: non-empty, no Unicode space, no ``+``."""
    if not isinstance(name, str) or not name:
        raise MalformedKey("a key name must be a non-empty string")
    if "+" in name or any(ch.isspace() for ch in name):
        raise MalformedKey("a key name must contain no space and no '+'")
    if _CONTROL.search(name) or "\n" in name:
        raise MalformedKey("a key name must contain no control character")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedKey("a key name must be valid UTF-8") from None
    return name


def key_id(name: str, public_key: bytes) -> bytes:
    """SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4], the Ed25519 key id of the spec."""
    if len(public_key) != PUBLIC_KEY_BYTES:
        raise MalformedKey(f"an Ed25519 public key has {PUBLIC_KEY_BYTES} bytes")
    digest = hashlib.sha256(check_key_name(name).encode() + b"\n" + bytes([ED25519]) + public_key)
    return digest.digest()[:KEY_ID_BYTES]


def b64decode_canonical(text: str, what: str, error: type[NoteError] = MalformedNote) -> bytes:
    """Standard base64 (RFC 4648 §4), padded, in its one canonical spelling."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise error(f"{what} is not standard base64") from None
    if base64.b64encode(raw).decode() != text:
        raise error(f"{what} is not canonical base64")
    return raw


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """An Ed25519 verifier key of a signed note."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        key_id(self.name, self.public_key)  # checks the name and the key's length

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    def encode(self) -> str:
        """``<name>+<hex key id>+<base64(0x01 ‖ public key)>``."""
        return f"{self.name}+{self.key_id.hex()}+{b64(bytes([ED25519]) + self.public_key)}"

    @classmethod
    def parse(cls, vkey: str) -> NoteVerifier:
        """A verifier key as :meth:`encode` writes it; MalformedKey when it is not one, or
        when its id is not the id of its name and key."""
        if not isinstance(vkey, str):
            raise MalformedKey("a verifier key is a string")
        parts = vkey.strip().split("+", 2)  # base64 may hold "+": split twice
        if len(parts) != 3:
            raise MalformedKey("a verifier key is <name>+<hex key id>+<base64 key>")
        name, hex_id, encoded = parts
        check_key_name(name)
        if not re.fullmatch(r"[0-9a-f]{8}", hex_id):
            raise MalformedKey("a key id is 8 lowercase hex digits")
        raw = b64decode_canonical(encoded, "the verifier key", MalformedKey)
        if len(raw) != 1 + PUBLIC_KEY_BYTES or raw[0] != ED25519:
            raise MalformedKey("not an Ed25519 verifier key (type 0x01, 32 bytes)")
        verifier = cls(name, raw[1:])
        if verifier.key_id.hex() != hex_id:
            raise MalformedKey(
                f"the key id {hex_id} is not the id of this name and key "
                f"({verifier.key_id.hex()}): the key was altered"
            )
        return verifier

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != SIGNATURE_BYTES:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
        except _BadSignature:
            return False
        return True


@dataclass(frozen=True)
class NoteSigner:
    """An Ed25519 signing key under a key name."""

    name: str
    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if len(self.seed) != SEED_BYTES:
            raise MalformedKey(f"an Ed25519 private key (seed) has {SEED_BYTES} bytes")

    @property
    def _private(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def verifier(self) -> NoteVerifier:
        public = self._private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return NoteVerifier(self.name, public)

    def encode(self) -> str:
        """``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 ‖ seed)>`` (a secret)."""
        hex_id = self.verifier.key_id.hex()
        return f"{PRIVATE_PREFIX}{self.name}+{hex_id}+{b64(bytes([ED25519]) + self.seed)}"

    def sign(self, text: str) -> str:
        """The signed note of ``text`` (which must end in a newline): text, blank line, one
        signature line."""
        check_text(text)
        raw = text.encode()
        signature = self._private.sign(raw)
        line = f"{EM_DASH_PREFIX}{self.name} {b64(self.verifier.key_id + signature)}\n"
        return f"{text}\n{line}"


def parse_signing_key(text: str, name: str | None) -> NoteSigner:
    """The Ed25519 key in ``text`` as a signer named ``name``.

    ``name`` None only checks the key: a signer key keeps its own name, a bare key is
    named :data:`UNNAMED`.

    ``text`` is one of: a signer key ``PRIVATE+KEY+<name>+<id>+<base64>`` (its name must be
    ``name`` and its id must match), a 32-byte seed as 64 hex digits (``0x`` optional) or as
    base64, or a PKCS#8 PEM private key (``openssl genpkey -algorithm ed25519``). The
    message of a MalformedKey never repeats the key.
    """
    value = text.strip()
    if value.startswith(PRIVATE_PREFIX):
        return _from_signer_key(value, name)
    if value.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(value.encode(), password=None)
        except (ValueError, TypeError, UnicodeEncodeError):
            raise MalformedKey("the PEM private key cannot be read (unencrypted PKCS#8)") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise MalformedKey("the PEM private key is not an Ed25519 key")
        seed = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return NoteSigner(name or UNNAMED, seed)
    if _HEX_SEED.fullmatch(value):
        return NoteSigner(name or UNNAMED, bytes.fromhex(value.removeprefix("0x")))
    try:
        seed = b64decode_canonical(value, "the key", MalformedKey)
    except MalformedKey:
        seed = b""
    if len(seed) != SEED_BYTES:
        raise MalformedKey(
            "not an Ed25519 signing key: want PRIVATE+KEY+..., 64 hex digits, the base64 of "
            "32 bytes, or a PEM private key"
        )
    return NoteSigner(name or UNNAMED, seed)


def _from_signer_key(value: str, name: str | None) -> NoteSigner:
    parts = value[len(PRIVATE_PREFIX) :].split("+", 2)
    if len(parts) != 3:
        raise MalformedKey("a signer key is PRIVATE+KEY+<name>+<hex key id>+<base64 key>")
    key_name, hex_id, encoded = parts
    check_key_name(key_name)
    raw = b64decode_canonical(encoded, "the signer key", MalformedKey)
    if len(raw) != 1 + SEED_BYTES or raw[0] != ED25519:
        raise MalformedKey("not an Ed25519 signer key (type 0x01, 32 bytes)")
    signer = NoteSigner(key_name, raw[1:])
    if signer.verifier.key_id.hex() != hex_id:
        raise MalformedKey("the signer key's id does not match its name and key")
    if name is not None and key_name != name:
        raise MalformedKey(f"the signer key is named {key_name!r}, the log is {name!r}")
    return signer


def check_text(text: str) -> None:
    """A note text: valid UTF-8, ends in a newline, no control character but newlines."""
    if not text.endswith("\n"):
        raise MalformedNote("a note text ends in a newline")
    if _CONTROL.search(text):
        raise MalformedNote("a note contains no control character but the newline")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedNote("a note is valid UTF-8") from None


@dataclass(frozen=True, slots=True)
class Signature:
    name: str
    key_id: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class Note:
    text: str
    signatures: tuple[Signature, ...]


def parse_note(message: str | bytes) -> Note:
    """The text and signature lines of a signed note (nothing verified yet)."""
    if isinstance(message, bytes):
        if len(message) > MAX_NOTE_BYTES:
            raise MalformedNote(f"a note is at most {MAX_NOTE_BYTES} bytes")
        try:
            message = message.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedNote("a note is valid UTF-8") from None
    if len(message.encode("utf-8", "surrogatepass")) > MAX_NOTE_BYTES:
        raise MalformedNote(f"a note is at most {MAX_NOTE_BYTES} bytes")
    check_text(message)
    split = message.rfind("\n\n")
    if split < 0:
        raise MalformedNote("no blank line separates the text from its signatures")
    text, block = message[: split + 1], message[split + 2 :]
    if not block:
        raise MalformedNote("a signed note has at least one signature line")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNote(f"more than {MAX_SIGNATURES} signatures")
    return Note(text, tuple(_signature(line) for line in lines))


def _signature(line: str) -> Signature:
    if not line.startswith(EM_DASH_PREFIX):
        raise MalformedNote("a signature line starts with an em dash and a space")
    name, _, encoded = line[len(EM_DASH_PREFIX) :].partition(" ")
    try:
        check_key_name(name)
    except MalformedKey as error:
        raise MalformedNote(f"signature line: {error}") from None
    raw = b64decode_canonical(encoded, "a signature")
    if len(raw) < KEY_ID_BYTES + 1:
        raise MalformedNote("a signature holds a 4-byte key id and the signature bytes")
    return Signature(name, raw[:KEY_ID_BYTES], raw[KEY_ID_BYTES:])


def open_note(message: str | bytes, verifier: NoteVerifier) -> Note:
    """The note, once a signature by ``verifier`` (same name and key id) verifies.

    Signatures by other keys are ignored (the spec: verifiers MUST ignore unknown keys).
    UnverifiedNote when no signature is the verifier's; BadSignature when one is and it
    does not verify.
    """
    note = parse_note(message)
    wanted = [s for s in note.signatures if s.name == verifier.name and s.key_id == verifier.key_id]
    if not wanted:
        named = [s.key_id.hex() for s in note.signatures if s.name == verifier.name]
        detail = f" (it has key id {', '.join(named)})" if named else ""
        raise UnverifiedNote(f"no signature by {verifier.name}+{verifier.key_id.hex()}{detail}")
    for signature in wanted:
        if not verifier.verify(note.text.encode(), signature.signature):
            raise BadSignature(
                f"the signature by {verifier.name}+{verifier.key_id.hex()} does not verify"
            )
    return note
