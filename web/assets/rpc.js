// The chain, read over JSON-RPC by the browser itself: anchorCount, anchorAt and the
// anchoring transaction's Anchored event (never the service's word for the root).
import { concat, fromHex, keccak256, toHex, utf8 } from "./hex.js";

const TIMEOUT_MS = 15000;
const selector = (signature) => keccak256(utf8(signature)).slice(0, 4);
const ANCHOR_COUNT = selector("anchorCount()");
const ANCHOR_AT = selector("anchorAt(uint256)");
export const ANCHORED_TOPIC = toHex(keccak256(utf8("Anchored(uint256,uint64,bytes32)")));

function word(value) {
  const bytes = new Uint8Array(32);
  let v = BigInt(value);
  for (let i = 31; i >= 0; i--) { bytes[i] = Number(v & 0xffn); v >>= 8n; }
  return bytes;
}

export class RpcError extends Error {}

export async function rpc(url, method, params) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  let answer;
  try {
    const response = await fetch(url, {
      method: "POST", headers: { "Content-Type": "application/json" }, credentials: "omit",
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }), signal: controller.signal,
    });
    answer = await response.json();
  } catch (error) {
    throw new RpcError(`the RPC endpoint ${url} could not be read (${error.message || error})`);
  } finally {
    clearTimeout(timer);
  }
  if (answer.error) throw new RpcError(`${method}: ${answer.error.message || JSON.stringify(answer.error)}`);
  return answer.result;
}

async function call(url, contract, data) {
  const result = await rpc(url, "eth_call", [{ to: contract, data: toHex(data) }, "latest"]);
  return fromHex(result, null, "eth_call result");
}

const uint = (bytes) => BigInt(toHex(bytes));

export async function chainId(url) {
  return Number(BigInt(await rpc(url, "eth_chainId", [])));
}

export async function anchorCount(url, contract) {
  const out = await call(url, contract, ANCHOR_COUNT);
  if (out.length !== 32) throw new RpcError(`anchorCount() of ${contract} answered ${out.length} bytes: is it the AzoraToken contract?`);
  return uint(out);
}

export async function anchorAt(url, contract, index) {
  const out = await call(url, contract, concat(ANCHOR_AT, word(index)));
  if (out.length !== 96) throw new RpcError(`anchorAt(${index}) answered ${out.length} bytes`);
  return { treeSize: uint(out.slice(0, 32)), root: toHex(out.slice(32, 64)), timestamp: uint(out.slice(64, 96)) };
}

/** Did `txHash` emit Anchored(index, treeSize, root) from `contract`? */
export async function emittedAnchor(url, contract, txHash, index, treeSize, root) {
  const receipt = await rpc(url, "eth_getTransactionReceipt", [txHash]);
  if (!receipt) return false;
  return receipt.logs.some((log) => log.address.toLowerCase() === contract.toLowerCase()
    && log.topics[0] === ANCHORED_TOPIC && BigInt(log.topics[1]) === BigInt(index)
    && log.data.length === 130 && BigInt(log.data.slice(0, 66)) === BigInt(treeSize)
    && ("0x" + log.data.slice(66)).toLowerCase() === root.toLowerCase());
}
