// The auditor page (/app/audit): fetch a proof (or take a pasted one), read the anchored
// root from the chain over JSON-RPC, verify the path here, and say valid or invalid, and why.
import { $, api, ApiError, config, el, guarded, initSession, problemCode, table } from "./common.js";
import { fromHex, toHex } from "./hex.js";
import { leafHash, walkInclusion } from "./merkle.js";
import { anchorAt, anchorCount, chainId, emittedAnchor, RpcError } from "./rpc.js";
import { parseNote, parseVerifierKey, signatureProblem } from "./checkpoint.js";

class Invalid extends Error {}
class Uncheckable extends Error {}

initSession(() => {});
start();

async function start() {
  $("#audit-rpc").value = (await config()).rpc_url || "";
  loadAnchors();
  const entry = new URLSearchParams(location.search).get("entry");
  if (entry) {
    $("#audit-entry").value = entry;
    await verify();
  }
}

$("#audit-form").addEventListener("submit", (event) => { event.preventDefault(); verify(); });

// --- what the page reports ----------------------------------------------------------------

function check(ok, text) {
  $("#checks").append(el("li", { class: ok ? "pass" : "fail" }, text));
}

function verdict(kind, text) {
  const box = $("#verdict");
  box.dataset.verdict = kind;
  box.textContent = `${kind === "valid" ? "Valid" : kind === "invalid" ? "Invalid" : "Could not check"}: ${text}`;
}

function drawPath(leafHex, steps, computedHex, anchoredHex) {
  const items = [el("li", {}, el("strong", {}, "Leaf hash "), el("code", { class: "hash" }, leafHex))];
  steps.forEach((step, level) => items.push(el("li", {},
    el("strong", {}, `Level ${level + 1}: `), `sibling on the ${step.side} `, el("code", { class: "hash" }, step.sibling),
    el("br"), "→ ", el("code", { class: "hash" }, step.result))));
  if (computedHex) {
    const same = anchoredHex && computedHex === anchoredHex;
    items.push(el("li", { class: anchoredHex ? (same ? "good" : "bad") : null },
      el("strong", {}, "Root from the path "), el("code", { class: "hash" }, computedHex),
      anchoredHex ? [el("br"), el("strong", {}, same ? "equals the root on chain " : "differs from the root on chain "),
        el("code", { class: "hash" }, anchoredHex)] : null));
  }
  $("#path").replaceChildren(...items);
}

// --- getting the proof --------------------------------------------------------------------

async function obtain(entry, pasted) {
  if (pasted.trim()) {
    try {
      return JSON.parse(pasted);
    } catch {
      throw new Uncheckable("the pasted text is not JSON");
    }
  }
  if (!entry) throw new Uncheckable("give an entry id or paste a proof or receipt");
  const path = `/v1/proofs/entries/${encodeURIComponent(entry)}`;
  try {
    try {
      return await api(`${path}/receipt`);
    } catch (error) {
      if (!(error instanceof ApiError) || error.problem.status !== 503) throw error;
      return await api(path); // no signed checkpoints here: the plain proof
    }
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const p = error.problem;
    const why = problemCode(p) === "not-anchored" ? "the entry is not anchored yet; retry in a minute" : `${p.title}: ${p.detail}`;
    throw new Uncheckable(`the service gave no proof (${why})`);
  }
}

function parseProof(proof) {
  try {
    const ints = { leaf_index: proof.leaf_index, tree_size: proof.tree_size, "anchor.index": proof.anchor?.index, "anchor.chain_id": proof.anchor?.chain_id };
    for (const [name, value] of Object.entries(ints)) {
      if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer`);
    }
    if (typeof proof.leaf !== "string") throw new Error("leaf must be the canonical JSON string");
    if (!Array.isArray(proof.inclusion_proof)) throw new Error("inclusion_proof must be a list");
    if (!/^0x[0-9a-fA-F]{40}$/.test(proof.anchor.contract || "")) throw new Error("anchor.contract must be an address");
    return {
      entryId: proof.entry_id, leaf: proof.leaf, index: proof.leaf_index, size: proof.tree_size,
      leafHash: toHex(fromHex(proof.leaf_hash, 32, "leaf_hash")),
      path: proof.inclusion_proof.map((h, i) => fromHex(h, 32, `inclusion_proof[${i}]`)),
      anchorIndex: proof.anchor.index, chainId: proof.anchor.chain_id, contract: proof.anchor.contract,
      txHash: proof.anchor.tx_hash || null, checkpoint: proof.checkpoint || null, checkpointKey: proof.checkpoint_key || null,
    };
  } catch (error) {
    throw new Uncheckable(`malformed proof: ${error.message}`);
  }
}

// --- the checks ---------------------------------------------------------------------------

function checkLeaf(p, entry) {
  const computed = toHex(leafHash(p.leaf));
  if (computed !== p.leafHash.toLowerCase()) throw new Invalid("leaf_hash does not match keccak256(0x00 ‖ leaf): the leaf bytes were altered");
  check(true, `keccak256(0x00 ‖ leaf) is the leaf hash ${computed}`);
  let named;
  try { named = JSON.parse(p.leaf).entry_id; } catch { throw new Invalid("the leaf is not JSON"); }
  const wanted = entry || p.entryId;
  if (wanted && named !== wanted) throw new Invalid(`the leaf is of entry ${named}, not ${wanted}`);
  return computed;
}

async function readChain(p, rpcUrl, contract) {
  try {
    const served = await chainId(rpcUrl);
    if (served !== p.chainId) throw new Uncheckable(`the RPC serves chain ${served}; the proof's anchor is on chain ${p.chainId}`);
    const count = await anchorCount(rpcUrl, contract);
    if (BigInt(p.anchorIndex) >= count) throw new Invalid(`anchor ${p.anchorIndex} does not exist on chain (${count} anchors)`);
    const held = await anchorAt(rpcUrl, contract, p.anchorIndex);
    check(true, `anchorAt(${p.anchorIndex}) on chain ${served} at ${contract}: tree size ${held.treeSize}, root ${held.root}`);
    if (held.treeSize !== BigInt(p.size)) throw new Invalid(`the proof claims tree size ${p.size}, anchor ${p.anchorIndex} on chain has ${held.treeSize}`);
    return held;
  } catch (error) {
    if (error instanceof RpcError) throw new Uncheckable(error.message);
    throw error;
  }
}

async function checkEvent(p, rpcUrl, contract, root) {
  if (!p.txHash) return;
  let emitted;
  try { emitted = await emittedAnchor(rpcUrl, contract, p.txHash, p.anchorIndex, p.size, root); } catch (error) {
    if (error instanceof RpcError) throw new Uncheckable(error.message);
    throw error;
  }
  if (!emitted) throw new Invalid(`transaction ${p.txHash} did not emit Anchored(${p.anchorIndex}, ${p.size}, ${root}) from ${contract}`);
  check(true, `transaction ${p.txHash} emitted Anchored(${p.anchorIndex}, ${p.size}, root)`);
}

async function checkCheckpoint(p, pinned, root) {
  if (!p.checkpoint) { check(true, "no signed checkpoint in a plain proof (the chain is the proof)"); return ""; }
  let note; let key;
  try {
    note = parseNote(p.checkpoint);
    key = parseVerifierKey(pinned || p.checkpointKey);
  } catch (error) {
    throw new Invalid(`the checkpoint cannot be read: ${error.message}`);
  }
  const problem = await signatureProblem(note, key);
  if (problem) throw new Invalid(problem);
  if (note.size !== p.size || note.root !== root.toLowerCase()) throw new Invalid("the signed checkpoint names another tree than the proof and the chain");
  check(true, `the checkpoint of ${note.origin} is signed by ${key.name} (${pinned ? "the pinned key" : "the key in the receipt: pin one to trust it"})`);
  return `; its checkpoint is signed by ${key.name}`;
}

async function verify() {
  $("#checks").replaceChildren();
  $("#path").replaceChildren();
  verdict("checking", "working…");
  const entry = $("#audit-entry").value.trim();
  try {
    const p = parseProof(await obtain(entry, $("#audit-paste").value));
    const computedLeaf = checkLeaf(p, entry);
    const walk = walkInclusion(p.index, p.size, fromHex(computedLeaf, 32), p.path);
    const rootHex = walk.root ? toHex(walk.root) : null;
    drawPath(computedLeaf, walk.steps, rootHex, null);
    const rpcUrl = $("#audit-rpc").value.trim();
    const contract = $("#audit-contract").value.trim() || p.contract;
    const held = await readChain(p, rpcUrl, contract);
    drawPath(computedLeaf, walk.steps, rootHex, held.root);
    if (!walk.root) throw new Invalid(walk.problem);
    if (rootHex !== held.root.toLowerCase()) throw new Invalid(`the inclusion path does not lead to the root anchored on chain at index ${p.anchorIndex}`);
    check(true, `the path of ${p.path.length} hashes leads to the anchored root`);
    await checkEvent(p, rpcUrl, contract, held.root);
    const signed = await checkCheckpoint(p, $("#audit-key").value.trim(), held.root);
    verdict("valid", `leaf ${p.index} (entry ${JSON.parse(p.leaf).entry_id}) is in the tree of size ${p.size} anchored on chain ${p.chainId} at index ${p.anchorIndex} of ${contract}${signed}`);
  } catch (error) {
    if (error instanceof Invalid) { check(false, error.message); verdict("invalid", error.message); }
    else if (error instanceof Uncheckable) { check(false, error.message); verdict("uncheckable", error.message); }
    else { check(false, String(error)); verdict("uncheckable", String(error)); }
  }
}

// --- the anchors --------------------------------------------------------------------------

async function loadAnchors() {
  await guarded($("#anchors-problem"), async () => {
    const page = await api("/v1/anchors?limit=50", { auth: null });
    const rows = page.data.map((a) => el("tr", { "data-anchor": a.index },
      el("td", { class: "num" }, a.index ?? "—"), el("td", { class: "num" }, String(a.tree_size)),
      el("td", {}, el("code", { class: "hash" }, a.root)), el("td", {}, a.tx_hash ? el("code", { class: "hash" }, a.tx_hash) : "—"),
      el("td", { class: "num" }, a.block_number ?? "—"), el("td", {}, el("span", { class: "badge" }, a.status))));
    $("#anchors").replaceChildren(rows.length
      ? table([{ label: "Index", num: true }, { label: "Tree size", num: true }, "Root", "Transaction", { label: "Block", num: true }, "Status"], rows)
      : el("p", { class: "hint" }, "No anchors yet."));
  });
}

