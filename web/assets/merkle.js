// RFC 9162 §2.1 with keccak256 (DESIGN §7): the leaf hash and the inclusion path, step by
// step, so the page can draw every hash from the leaf to the root.
import { concat, keccak256, toHex, utf8 } from "./hex.js";

export const MAX_PROOF_HASHES = 65;

export function leafHash(leafText) {
  return keccak256(concat(new Uint8Array([0]), utf8(leafText)));
}

function nodeHash(left, right) {
  return keccak256(concat(new Uint8Array([1]), left, right));
}

/**
 * Follow an inclusion proof (RFC 9162 §2.1.3.2). Returns {root, steps, problem}: `root` is
 * the root the path leads to (null when the proof cannot fit this index and size), each
 * step names the sibling, which side it sits on and the hash it made.
 */
export function walkInclusion(index, size, leaf, proof) {
  const steps = [];
  if (!(index < size)) return { root: null, steps, problem: `leaf index ${index} is not below the tree size ${size}` };
  if (proof.length > MAX_PROOF_HASHES) return { root: null, steps, problem: `${proof.length} hashes: no proof is that long` };
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) return { root: null, steps, problem: `the proof has ${proof.length} hashes, more than the path from leaf ${index} in a tree of ${size}` };
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      steps.push({ sibling: toHex(p), side: "left", result: toHex(r) });
      if ((fn & 1n) === 0n) {
        while (fn !== 0n && (fn & 1n) === 0n) { fn >>= 1n; sn >>= 1n; }
      }
    } else {
      r = nodeHash(r, p);
      steps.push({ sibling: toHex(p), side: "right", result: toHex(r) });
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) return { root: null, steps, problem: `the proof has ${proof.length} hashes, fewer than the path from leaf ${index} in a tree of ${size}` };
  return { root: r, steps, problem: null };
}
