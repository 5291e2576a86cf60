// C2SP signed notes with Ed25519 (DESIGN §14), checked with the browser's own WebCrypto.
import { concat, equalBytes, toHex, utf8 } from "./hex.js";

const EM_DASH = "\u2014 ";

function base64Bytes(text) {
  const raw = atob(text);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

/** `<name>+<hex key id>+<base64(0x01 ‖ key)>` → {name, keyId, publicKey}; throws if malformed. */
export function parseVerifierKey(text) {
  // The name holds no "+", the base64 key may: split at the first two only.
  const found = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+=*)$/.exec(String(text).trim());
  if (!found) throw new Error("the verifier key is not <name>+<key id>+<key>");
  const parts = found.slice(1);
  const raw = base64Bytes(parts[2]);
  if (raw.length !== 33 || raw[0] !== 1) throw new Error("the verifier key is not an Ed25519 key");
  return { name: parts[0], keyId: parts[1], publicKey: raw.slice(1) };
}

/** Split a note into its signed text and its signature lines; throws if malformed. */
export function parseNote(note) {
  const cut = note.indexOf("\n\n");
  if (cut < 0 || !note.endsWith("\n")) throw new Error("the checkpoint is not a signed note");
  const text = note.slice(0, cut + 1);
  const signatures = note.slice(cut + 2, -1).split("\n").map((line) => {
    if (!line.startsWith(EM_DASH)) throw new Error("a signature line does not start with an em dash");
    const [name, sig] = line.slice(EM_DASH.length).split(" ");
    const raw = base64Bytes(sig);
    return { name, keyId: toHex(raw.slice(0, 4)).slice(2), signature: raw.slice(4) };
  });
  const lines = text.split("\n");
  if (lines.length < 4 || !/^[0-9]+$/.test(lines[1])) throw new Error("the checkpoint body is not origin, size, root");
  return { text, origin: lines[0], size: Number(lines[1]), root: toHex(base64Bytes(lines[2])), signatures };
}

/** Check the note's signature by `key`: null when it verifies, else the reason. */
export async function signatureProblem(note, key) {
  const expectedId = new Uint8Array(await crypto.subtle.digest("SHA-256", concat(utf8(key.name), new Uint8Array([0x0a, 0x01]), key.publicKey))).slice(0, 4);
  if (toHex(expectedId).slice(2) !== key.keyId) return "the verifier key's id does not match its name and key";
  const line = note.signatures.find((s) => s.name === key.name && s.keyId === key.keyId);
  if (!line) return `no signature by ${key.name} (${key.keyId})`;
  if (line.signature.length !== 64) return "the signature is not 64 bytes";
  let cryptoKey;
  try {
    cryptoKey = await crypto.subtle.importKey("raw", key.publicKey, { name: "Ed25519" }, false, ["verify"]);
  } catch (error) {
    return `this browser cannot check Ed25519 signatures (${error})`;
  }
  const ok = await crypto.subtle.verify({ name: "Ed25519" }, cryptoKey, line.signature, utf8(note.text));
  return ok ? null : "the Ed25519 signature does not verify: the checkpoint was altered or signed by another key";
}

export { equalBytes };
