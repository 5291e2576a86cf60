// keccak256 (from @noble/hashes, served by this service) and the hex and EIP-55 helpers.
import { keccak_256 } from "./vendor/noble-hashes/sha3.js";

export function keccak256(bytes) {
  return keccak_256(bytes);
}

export function utf8(text) {
  return new TextEncoder().encode(text);
}

export function toHex(bytes) {
  return "0x" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Bytes of a 0x hex string of `size` bytes (any size when null); throws on anything else. */
export function fromHex(text, size = null, what = "value") {
  if (typeof text !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(text)) {
    throw new Error(`${what} is not 0x-prefixed hex`);
  }
  const bytes = new Uint8Array((text.length - 2) / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(text.slice(2 + 2 * i, 4 + 2 * i), 16);
  if (size !== null && bytes.length !== size) throw new Error(`${what} must be ${size} bytes, got ${bytes.length}`);
  return bytes;
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export function equalBytes(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The EIP-55 mixed-case checksum form of a 20-byte address. */
export function checksumAddress(address) {
  const lower = address.slice(2).toLowerCase();
  const hash = toHex(keccak256(utf8(lower))).slice(2);
  let out = "0x";
  for (let i = 0; i < 40; i++) out += parseInt(hash[i], 16) >= 8 ? lower[i].toUpperCase() : lower[i];
  return out;
}

/**
 * Check a withdrawal address: 0x and 40 hex digits, not the zero address, and written in
 * its EIP-55 checksum form (a one-letter typo then fails instead of sending tokens away).
 * Returns null when valid, else the reason.
 */
export function addressProblem(text) {
  if (!/^0x[0-9a-fA-F]{40}$/.test(text)) return "An Ethereum address is 0x followed by 40 hex digits.";
  if (/^0x0{40}$/.test(text)) return "The zero address cannot receive tokens.";
  const body = text.slice(2);
  if (body === body.toLowerCase() || body === body.toUpperCase()) {
    return "This address carries no EIP-55 checksum (all one case): copy it from your wallet in its mixed-case form.";
  }
  if (checksumAddress(text) !== text) return "The EIP-55 checksum does not match: the address has a typo.";
  return null;
}
