// Leaderboards (/app/leaderboards): global, a class, or friends; week, month or all time.
import { $, api, el, guarded, initSession, newestOnly, table, trimAmount } from "./common.js";

const boardTurn = newestOnly();

let user = null;

initSession((who) => {
  user = who;
  $("#boards").hidden = !who;
  if (who) show();
});

function scope() {
  const kind = $("#board-scope").value;
  if (kind === "class") return `class:${$("#board-class").value.trim()}`;
  if (kind === "friends") return `friends:${user}`;
  return "global";
}

async function show() {
  const window = new FormData($("#board-form")).get("window") || "all";
  const wanted = scope();
  if (wanted === "class:") { $("#board-class").focus(); return; }
  const current = boardTurn();
  await guarded($("#board-problem"), async () => {
    const board = await api(`/v1/leaderboards/${encodeURIComponent(wanted)}?window=${window}&limit=100`);
    if (!current()) return;  // another scope or window was asked for since
    const rows = board.entries.map((r) => {
      const mine = r.user_id === user;
      return el("tr", { class: mine ? "me" : null, "aria-current": mine ? "true" : null, "data-user": r.user_id },
        el("td", { class: "num" }, String(r.rank)),
        el("td", {}, mine ? `${r.user_id} (you)` : r.user_id),
        el("td", { class: "num", "data-amount": r.score }, trimAmount(r.score)));
    });
    $("#board").replaceChildren(rows.length
      ? table([{ label: "Rank", num: true }, "User", { label: "AZR earned", num: true }], rows,
        { "aria-label": `${board.scope}, ${board.window} (from ${board.window_start})` })
      : el("p", { class: "hint" }, "Nobody has earned anything here in this window yet."));
    $("#board-me").replaceChildren(board.me
      ? el("span", { "data-my-rank": board.me.rank }, `Your place: #${board.me.rank} with ${trimAmount(board.me.score)} AZR.`)
      : "You have not earned anything in this window yet.");
  });
}

$("#board-scope").addEventListener("change", () => {
  $("#board-class-label").hidden = $("#board-scope").value !== "class";
});
$("#board-form").addEventListener("submit", (event) => { event.preventDefault(); show(); });
for (const radio of document.querySelectorAll("input[name=window]")) radio.addEventListener("change", show);
