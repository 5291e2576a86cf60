"""What auditors read (DESIGN §7, §14): anchors, inclusion and consistency proofs, receipts.

Hashes and roots are ``0x``-prefixed hex of 32 bytes; ``leaf`` is the exact canonical JSON
bytes of the token-log leaf (hash them as they are: ``keccak256(0x00 || leaf)``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Hash32 = Annotated[str, Field(pattern=r"^0x[0-9a-f]{64}$", examples=["0x" + "ab" * 32])]
Address = Annotated[str, Field(examples=["0x5FbDB2315678afecb367f032d93F642f64180aa3"])]


class AnchorPublic(BaseModel):
    index: int | None = Field(description="The contract's 0-based anchor index, once mined.")
    chain_id: int
    contract: Address
    tx_hash: str | None
    block_number: int | None
    tree_size: int
    root: Hash32
    status: str = Field(description="signed, submitted, confirmed, dropped or failed")


class AnchorPage(BaseModel):
    data: list[AnchorPublic] = Field(description="Newest tree size first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for older anchors.")


class ProofAnchor(BaseModel):
    index: int
    chain_id: int
    contract: Address
    tx_hash: str | None
    block_number: int | None
    status: str


class EntryProof(BaseModel):
    """Inclusion of the entry's leaf in the tree of the latest confirmed anchor."""

    model_config = ConfigDict(extra="allow")

    entry_id: str
    leaf_index: int
    leaf: str = Field(description="The leaf's canonical JSON, byte for byte.")
    leaf_hash: Hash32
    tree_size: int
    root: Hash32
    inclusion_proof: list[Hash32] = Field(description="RFC 9162 §2.1.3 audit path, leaf up.")
    anchor: ProofAnchor


class Receipt(EntryProof):
    """The proof, the signed checkpoint of the same anchor and its verifier key, in one
    file: ``azora audit receipt FILE [--rpc URL]`` checks it."""

    version: int
    checkpoint: str = Field(description="C2SP tlog-checkpoint signed note (text).")
    checkpoint_key: str = Field(description="The note verifier key `<name>+<id>+<key>`.")


class ConsistencyProof(BaseModel):
    """RFC 9162 §2.1.4 proof that the tree at ``to`` extends the tree at ``from``."""

    model_config = ConfigDict(populate_by_name=True)

    from_size: int = Field(alias="from")
    to_size: int = Field(alias="to")
    from_root: Hash32
    to_root: Hash32
    proof: list[Hash32]
