"""Facts about the local development chain (anvil's defaults)."""

from __future__ import annotations

# The first account of anvil's default mnemonic: public knowledge, so only ever used
# against a chain whose id is ANVIL_CHAIN_ID.
ANVIL_DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ANVIL_CHAIN_ID = 31337
