// The wallet (/app/): balances, redemptions, a withdrawal, history with its running balance.
import {
  $, amountEl, api, ApiError, clearBox, el, guarded, initSession, newestOnly, newKey, notice, table, trimAmount, when,
} from "./common.js";
import { addressProblem } from "./hex.js";

const HISTORY_PAGE = 100;
const state = { user: null, history: [], cursor: null, catalog: [] };
// Balances, redemptions and history are reloaded after every action: a late answer to an
// earlier load must not overwrite (or, for the history, repeat) a newer one.
const turns = { balances: newestOnly(), redemptions: newestOnly(), history: newestOnly() };

initSession((user) => {
  state.user = user;
  $("#wallet").hidden = !user;
  if (user) refresh();
});

async function refresh() {
  await Promise.all([loadBalances(), loadCatalog(), loadRedemptions(), loadHistory(true)]);
}

// --- balances -----------------------------------------------------------------------------

async function account(id) {
  try {
    return await api(`/v1/accounts/${encodeURIComponent(id)}`);
  } catch (error) {
    if (error instanceof ApiError && error.problem.status === 404) return null;
    throw error;
  }
}

function balanceCard(label, id, asset, found) {
  if (!found) {
    return el("dl", { class: "stat" }, el("dt", {}, label), el("dd", { class: "hint" }, `No ${asset} account yet (${id}).`));
  }
  return el("dl", { class: "stat" },
    el("dt", {}, `${label}: available`), el("dd", {}, amountEl(found.available, asset, { "data-account": id })),
    el("dt", {}, "On hold"), el("dd", {}, amountEl(found.pending_out, asset, { "data-hold": id })),
    el("dt", {}, "Balance"), el("dd", {}, amountEl(found.balance, asset, { "data-balance": id })));
}

async function loadBalances() {
  await guarded($("#balances-problem"), async () => {
    const azrId = `user:${state.user}:azr`;
    const usdId = `user:${state.user}:usd`;
    const current = turns.balances();
    const [azr, usd, wallet] = await Promise.all([account(azrId), account(usdId), api(`/v1/users/${state.user}/rewards`)]);
    if (!current()) return;
    $("#balances").replaceChildren(balanceCard("AZR", azrId, "AZR", azr), balanceCard("USD", usdId, "USD", usd));
    const unlocks = wallet.entitlements.map((e) => el("li", {}, `${e.item_id} (${e.type.replace("_", " ")})`,
      e.until ? ` until ${when(e.until)}` : " for good"));
    $("#entitlements").replaceChildren(unlocks.length ? el("ul", {}, unlocks) : el("p", { class: "hint" }, "None."));
  });
}

// --- catalog, redemptions, withdrawal -----------------------------------------------------

async function loadCatalog() {
  await guarded($("#redeem-problem"), async () => {
    state.catalog = (await api("/v1/rewards/catalog")).data;
    const items = state.catalog.filter((i) => i.type !== "onchain_withdrawal");
    const rows = items.map((item) => el("tr", { "data-item": item.id },
      el("td", {}, item.name), el("td", {}, item.type.replace("_", " ")),
      el("td", { class: "num" }, `${trimAmount(item.price)} AZR`),
      el("td", { class: "num" }, item.stock === null ? "—" : String(item.stock)),
      el("td", {}, el("button", { type: "button", onclick: () => (item.type === "merchandise" ? askAddress(item) : redeem(item)) },
        `Redeem ${item.name}`))));
    $("#catalog").replaceChildren(items.length
      ? table(["Item", "Type", { label: "Price", num: true }, { label: "Stock", num: true }, "Action"], rows)
      : el("p", { class: "hint" }, "Nothing to redeem yet."));
    const withdrawals = state.catalog.filter((i) => i.type === "onchain_withdrawal");
    $("#withdraw-item").replaceChildren(...withdrawals.map((i) => el("option", { value: i.id }, `${i.name} (${trimAmount(i.price)} AZR)`)));
    $("#withdraw-form").hidden = withdrawals.length === 0;
  });
}

function askAddress(item) {
  state.shipping = item;
  $("#ship-item").textContent = item.name;
  $("#ship-form").hidden = false;
  $("#ship-name").focus();
}

$("#ship-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  if (!form.reportValidity() || !state.shipping) return;
  const address = Object.fromEntries(new FormData(form).entries());
  await redeem(state.shipping, { shipping_address: address });
  if (!$("#redeem-problem").hasChildNodes()) { form.reset(); form.hidden = true; }
});

async function redeem(item, extra = {}, boxes = ["#redeem-notice", "#redeem-problem"]) {
  const [noticeBox, problemBox] = boxes.map((s) => $(s));
  clearBox(noticeBox);
  const made = await guarded(problemBox, () => api(`/v1/users/${state.user}/redemptions`, {
    method: "POST", body: { item_id: item.id, ...extra }, idempotencyKey: newKey(),
  }));
  if (made) {
    notice(noticeBox, `${item.name}: redemption ${made.id} is ${made.status}; ${trimAmount(made.price)} AZR on hold.`);
    await Promise.all([loadBalances(), loadRedemptions(), loadCatalog()]);
  }
}

async function cancel(redemption) {
  const done = await guarded($("#redemptions-problem"), () =>
    api(`/v1/users/${state.user}/redemptions/${redemption.id}/cancel`, { method: "POST" }));
  if (done) await Promise.all([loadBalances(), loadRedemptions()]);
}

async function loadRedemptions() {
  await guarded($("#redemptions-problem"), async () => {
    const current = turns.redemptions();
    const page = await api(`/v1/users/${state.user}/redemptions?limit=100`);
    if (!current()) return;
    const rows = page.data.map((r) => el("tr", { "data-redemption": r.id, "data-status": r.status },
      el("td", {}, r.item_id), el("td", { class: "num" }, `${trimAmount(r.price)} AZR`),
      el("td", {}, el("span", { class: "badge" }, r.status), r.reason ? el("span", { class: "hint" }, ` ${r.reason}`) : null),
      el("td", {}, r.tx_hash ? el("code", {}, r.tx_hash) : r.eth_address ? el("code", {}, r.eth_address) : "—"),
      el("td", {}, when(r.created_at)),
      el("td", {}, r.status === "held" ? el("button", { type: "button", class: "secondary", onclick: () => cancel(r) }, "Cancel") : null)));
    $("#redemptions").replaceChildren(rows.length
      ? table(["Item", { label: "Price", num: true }, "Status", "Address / transaction", "Requested", ""], rows)
      : el("p", { class: "hint" }, "No redemptions yet."));
  });
}

function checkAddress() {
  const input = $("#withdraw-address");
  const problem = input.value ? addressProblem(input.value.trim()) : "Paste the address from your wallet.";
  const hint = $("#withdraw-address-check");
  hint.textContent = problem || "Checksum valid.";
  hint.className = problem ? (input.value ? "field-error" : "hint") : "field-ok";
  input.setAttribute("aria-invalid", problem && input.value ? "true" : "false");
  return problem;
}

$("#withdraw-address").addEventListener("input", checkAddress);
$("#withdraw-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const problem = checkAddress();
  if (problem) { $("#withdraw-address").focus(); return; }
  const item = state.catalog.find((i) => i.id === $("#withdraw-item").value);
  if (item) await redeem(item, { eth_address: $("#withdraw-address").value.trim() }, ["#withdraw-notice", "#withdraw-problem"]);
});

// --- history ------------------------------------------------------------------------------

async function loadHistory(fresh) {
  await guarded($("#history-problem"), async () => {
    const current = turns.history();
    if (fresh) state.cursor = null;
    const cursor = state.cursor ? `&cursor=${encodeURIComponent(state.cursor)}` : "";
    const page = await api(`/v1/users/${state.user}/rewards/history?limit=${HISTORY_PAGE}${cursor}`);
    if (!current()) return;
    if (fresh) state.history = [];
    state.history.push(...page.data);
    state.cursor = page.next_cursor;
    $("#history-more").hidden = !page.next_cursor;
    renderHistory();
    renderEarning();
  });
}

function matches(line, kind, direction, since) {
  if (kind && line.kind !== kind && !line.kind.startsWith(`${kind}.`)) return false;
  const out = line.amount.startsWith("-");
  if ((direction === "in" && out) || (direction === "out" && !out)) return false;
  return !since || line.effective_at.slice(0, 10) >= since;
}

function renderHistory() {
  const kind = $("#history-kind").value;
  const direction = $("#history-direction").value;
  const since = $("#history-since").value;
  const lines = state.history.filter((l) => matches(l, kind, direction, since));
  const rows = lines.map((l) => el("tr", { "data-entry": l.entry_id },
    el("td", {}, when(l.effective_at)), el("td", {}, el("code", {}, l.kind)),
    el("td", { class: "num", "data-amount": l.amount }, trimAmount(l.amount)),
    el("td", { class: "num", "data-balance-after": l.balance_after }, trimAmount(l.balance_after)),
    el("td", {}, el("a", { href: `/app/audit?entry=${encodeURIComponent(l.entry_id)}` }, "Verify"))));
  $("#history").replaceChildren(rows.length
    ? table(["When", "Kind", { label: "Amount (AZR)", num: true }, { label: "Balance after", num: true }, "Proof"], rows)
    : el("p", { class: "hint" }, "No movements match."));
}

function renderEarning() {
  const byType = new Map();
  for (const line of state.history) {
    if (!line.kind.startsWith("reward.earned")) continue;
    const type = line.metadata?.event_type || line.kind.slice("reward.earned.".length) || "earned";
    const seen = byType.get(type) || { count: 0, last: line.effective_at };
    seen.count += 1;
    byType.set(type, seen);
  }
  const rows = [...byType].map(([type, seen]) => el("tr", {}, el("td", {}, type),
    el("td", { class: "num" }, String(seen.count)), el("td", {}, when(seen.last))));
  $("#earning").replaceChildren(rows.length
    ? table(["Activity", { label: "Times rewarded", num: true }, "Last"], rows)
    : el("p", { class: "hint" }, "Nothing earned yet: complete lessons and courses to earn AZR."));
}

for (const id of ["#history-kind", "#history-direction", "#history-since"]) $(id).addEventListener("change", renderHistory);
$("#history-more").addEventListener("click", () => loadHistory(false));
