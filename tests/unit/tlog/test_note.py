"""C2SP signed notes: the specs' own examples, golang.org/x/mod/sumdb/note's published test
vectors (an independent implementation), an independent verifier written from the spec,
and hostile input."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from ledger.tlog import (
    BadSignature,
    Checkpoint,
    MalformedKey,
    MalformedNote,
    NoteSigner,
    NoteVerifier,
    UnverifiedNote,
    key_id,
    open_checkpoint,
    open_note,
    parse_note,
    parse_signing_key,
    sign_checkpoint,
)
from tests.unit.tlog import independent

# c2sp.org/signed-note, "Note": a text with an empty line inside it.
SPEC_NOTE = (
    "Ognuno sta solo sul cuor della terra\n"
    "trafitto da un raggio di sole:\n"
    "\n"
    "ed è subito sera.\n"
    "\n"
    "— quasimodo.example/salvatore "
    "NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
)
# c2sp.org/tlog-checkpoint, the example checkpoint.
SPEC_CHECKPOINT = (
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "— example.com/behind-the-sofa "
    "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)
# golang.org/x/mod/sumdb/note (note_test.go): keys, text and the exact signed note.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_ENOCH = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqd"
    "ngotpRZb6KE6RyyBwJnAM=\n"
)
GO_ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox"
    "33WWd1RvMc+QQ=\n"
)


# --- the specs' examples --------------------------------------------------------------


def test_the_spec_note_splits_at_its_last_empty_line() -> None:
    note = parse_note(SPEC_NOTE)
    assert note.text == SPEC_NOTE[: SPEC_NOTE.index("\n\n—") + 1]
    assert note.text.count("\n\n") == 1  # the empty line inside the text stays in it
    (signature,) = note.signatures
    assert signature.name == "quasimodo.example/salvatore"
    assert len(signature.signature) == 64  # Ed25519
    raw = base64.b64decode(SPEC_NOTE.rsplit(" ", 1)[1])
    assert signature.key_id == raw[:4]


def test_the_spec_checkpoint_parses() -> None:
    note = parse_note(SPEC_CHECKPOINT)
    checkpoint = Checkpoint.parse(note.text)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.tree_size == 20852163
    assert base64.b64encode(checkpoint.root).decode() == SPEC_CHECKPOINT.split("\n")[2]
    assert checkpoint.body() == note.text
    (signature,) = note.signatures
    assert signature.name == checkpoint.origin  # the key name matches the origin
    assert len(signature.signature) == 64


def test_spec_notes_under_an_unknown_key_are_unverified() -> None:
    stranger = NoteSigner("quasimodo.example/salvatore", b"\x07" * 32).verifier
    with pytest.raises(UnverifiedNote, match="no signature by"):
        open_note(SPEC_NOTE, stranger)


# --- golang.org/x/mod/sumdb/note's vectors ------------------------------------------------


def test_the_go_signer_key_gives_the_go_verifier_key_and_key_id() -> None:
    signer = parse_signing_key(GO_SKEY, "PeterNeumann")
    assert signer.verifier.encode() == GO_VKEY
    assert signer.encode() == GO_SKEY
    public = NoteVerifier.parse(GO_VKEY).public_key
    assert key_id("PeterNeumann", public).hex() == "c74f20a3"
    assert independent.spec_key_id("PeterNeumann", public).hex() == "c74f20a3"


def test_signing_reproduces_the_go_signed_note_byte_for_byte() -> None:
    signed = parse_signing_key(GO_SKEY, "PeterNeumann").sign(GO_TEXT)
    assert signed == GO_TEXT + "\n" + GO_PETER_SIG  # Ed25519 is deterministic


def test_open_keeps_the_known_signature_and_ignores_unknown_ones() -> None:
    message = GO_TEXT + "\n" + GO_PETER_SIG + GO_ENOCH_SIG
    for vkey in (GO_VKEY, GO_ENOCH):
        note = open_note(message, NoteVerifier.parse(vkey))
        assert note.text == GO_TEXT
        assert [s.name for s in note.signatures] == ["PeterNeumann", "EnochRoot"]


def test_go_bad_messages_are_malformed() -> None:
    verifier = NoteVerifier.parse(GO_VKEY)
    for bad in (
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n" + GO_PETER_SIG[:-1],
        "\x01" + GO_TEXT + "\n" + GO_PETER_SIG,
        GO_TEXT + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2p"
        "ZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        GO_TEXT + "\n" + GO_PETER_SIG + "Unexpected line.\n",
        GO_TEXT + "\n" + GO_PETER_SIG * 17,  # more signatures than verifiers must accept
    ):
        with pytest.raises(MalformedNote):
            open_note(bad, verifier)
    with pytest.raises(MalformedNote):
        open_note(b"\xff" + (GO_TEXT + "\n" + GO_PETER_SIG).encode(), verifier)


def test_a_go_signature_with_bytes_inserted_does_not_verify() -> None:
    message = GO_TEXT + "\n" + GO_PETER_SIG[:60] + "ABCD" + GO_PETER_SIG[60:]
    with pytest.raises(BadSignature, match="does not verify"):
        open_note(message, NoteVerifier.parse(GO_VKEY))


@pytest.mark.parametrize("key", [GO_VKEY, GO_SKEY])
def test_every_mangling_of_a_go_key_is_refused(key: str) -> None:
    """As TestNewVerifier / TestNewSigner: every proper substring, every byte bumped by one."""

    def parse(text: str) -> object:
        if key is GO_SKEY:
            return parse_signing_key(text, "PeterNeumann")
        return NoteVerifier.parse(text)

    accepted = []
    for i in range(len(key) + 1):
        for j in range(i + 1, len(key) + 1):
            if (i, j) == (0, len(key)) or key[i:j].strip() == key:
                continue
            try:
                parse(key[i:j])
            except MalformedKey:
                continue
            accepted.append(key[i:j])
    for i in range(len(key)):
        bumped = key[:i] + chr(ord(key[i]) + 1) + key[i + 1 :]
        try:
            parse(bumped)
        except MalformedKey:
            continue
        accepted.append(bumped)
    # A substring that is itself a bare 32-byte key (base64 or hex) is a valid seed for
    # parse_signing_key; none of the Go key's substrings is one.
    assert accepted == []


# --- the independent verifier, both ways -------------------------------------------------


@given(
    st.integers(0, 2**64 - 1),
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=32, max_size=32),
)
def test_our_checkpoints_pass_the_independent_verifier(size: int, root: bytes, seed: bytes) -> None:
    signer = NoteSigner("azora-ledger/31337/0x5FbDB2315678afecb367f032d93F642f64180aa3", seed)
    signed = sign_checkpoint(Checkpoint(signer.name, size, root), signer)
    vkey = signer.verifier.encode()
    assert vkey == independent.spec_vkey(signer.name, signer.verifier.public_key)
    assert independent.spec_verify_checkpoint(signed, vkey) == (signer.name, size, root)


@given(st.integers(0, 2**64 - 1), st.binary(min_size=32, max_size=32))
def test_independently_signed_checkpoints_open_here(size: int, root: bytes) -> None:
    private = Ed25519PrivateKey.generate()
    name = "example.com/log"
    body = f"{name}\n{size}\n{base64.b64encode(root).decode()}\n"
    note = independent.spec_sign(body, name, private)
    vkey = independent.spec_vkey(name, private.public_key().public_bytes_raw())
    assert open_checkpoint(note, NoteVerifier.parse(vkey)) == Checkpoint(name, size, root)


@given(st.data())
def test_any_change_to_a_signed_checkpoint_is_refused(data: st.DataObject) -> None:
    signer = NoteSigner("example.com/log", b"\x11" * 32)
    signed = sign_checkpoint(Checkpoint(signer.name, 41, b"\x22" * 32), signer)
    i = data.draw(st.integers(0, len(signed) - 1))
    replacement = data.draw(st.characters(codec="utf-8").filter(lambda c: c != signed[i]))
    tampered = signed[:i] + replacement + signed[i + 1 :]
    with pytest.raises(ValueError):
        open_checkpoint(tampered, signer.verifier)


# --- hostile input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["no newline", "nul\x00\n", "tab\t\n", "cr\r\n", "lone \ud800 surrogate\n"],
)
def test_texts_a_note_cannot_hold_are_refused(text: str) -> None:
    with pytest.raises(MalformedNote):
        NoteSigner("example.com/log", b"\x01" * 32).sign(text)


@pytest.mark.parametrize(
    "name", ["", "with space", "plus+sign", "nbsp\u00a0name", "new\nline", "nul\x00", "\ud800"]
)
def test_invalid_key_names_are_refused(name: str) -> None:
    with pytest.raises(MalformedKey):
        NoteSigner(name, b"\x01" * 32)


def test_non_canonical_base64_in_a_signature_is_refused() -> None:
    signer = NoteSigner("example.com/log", b"\x05" * 32)
    signed = signer.sign("hello\n")
    encoded = signed.rsplit(" ", 1)[1].rstrip("\n")
    raw = base64.b64decode(encoded)
    # 68 bytes: the last base64 digit carries 2 padding bits; setting them changes no byte.
    last = encoded[-2]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    twin = encoded[:-2] + alphabet[alphabet.index(last) | 1] + "="
    assert twin != encoded and base64.b64decode(twin) == raw
    with pytest.raises(MalformedNote, match="canonical"):
        open_note(signed.replace(encoded, twin), signer.verifier)


def test_signing_keys_in_every_accepted_form_agree() -> None:
    seed = bytes(range(32))
    name = "example.com/log"
    private = Ed25519PrivateKey.from_private_bytes(seed)
    from cryptography.hazmat.primitives import serialization

    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    forms = [seed.hex(), "0x" + seed.hex(), base64.b64encode(seed).decode(), pem]
    forms.append(NoteSigner(name, seed).encode())
    keys = {parse_signing_key(form, name).verifier.encode() for form in forms}
    assert keys == {independent.spec_vkey(name, private.public_key().public_bytes_raw())}


def test_a_signer_key_under_another_name_is_refused_without_echoing_it() -> None:
    with pytest.raises(MalformedKey) as refused:
        parse_signing_key(GO_SKEY, "example.com/log")
    assert "AYEKFALV" not in str(refused.value)
    for junk in ("", "0x1234", "not a key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END"):
        with pytest.raises(MalformedKey) as refused:
            parse_signing_key(junk, "example.com/log")
        assert junk not in str(refused.value) or not junk
