// The enterprise dashboard (/app/enterprise): seats and usage against limits (a chart), the
// license key and its verification (by the service, and here with WebCrypto), the branding
// preview, and support tickets with their SLA state.
import { $, api, el, guarded, initSession, newestOnly, table, when } from "./common.js";
import { utf8 } from "./hex.js";

const SVG = "http://www.w3.org/2000/svg";
const state = { user: null, org: null };
const orgTurn = newestOnly();

initSession((user) => { state.user = user; $("#enterprise").hidden = !user; if (user) loadOrgs(); });

function month() {
  return $("#org-month").value || new Date().toISOString().slice(0, 7);
}

async function loadOrgs() {
  await guarded($("#org-problem"), async () => {
    const page = await api("/v1/orgs?limit=100");
    $("#org-select").replaceChildren(...page.data.map((o) => el("option", { value: o.id }, `${o.name} (${o.id})`)));
    $("#no-org").hidden = page.data.length > 0;
    $("#enterprise").hidden = page.data.length === 0;
    if (page.data.length) await show();
  });
}

async function show() {
  const id = $("#org-select").value;
  const base = `/v1/orgs/${encodeURIComponent(id)}`;
  const current = orgTurn();
  await guarded($("#org-problem"), async () => {
    const [org, usage, members] = await Promise.all([api(base), api(`${base}/usage?month=${month()}`), api(`${base}/members?limit=100`)]);
    if (!current()) return;
    state.org = org;
    $("#org-summary").replaceChildren(el("p", {}, `${org.name}: ${org.seats.used} of ${org.seats.limit} seats taken.`));
    renderUsage(org, usage);
    $("#members").replaceChildren(table(["User", "Role", "Joined"],
      members.data.map((m) => el("tr", {}, el("td", {}, m.user_id), el("td", {}, m.role), el("td", {}, when(m.joined_at))))));
  });
  if (current()) await Promise.all([loadLicenses(base), loadBranding(base), loadTickets(base)]);
}

// --- usage ----------------------------------------------------------------------------------

const METRICS = { api_calls: "API calls", storage_bytes: "Storage (bytes)", active_users: "Active users" };

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderUsage(org, usage) {
  const bars = [{ label: "Seats", used: org.seats.used, limit: org.seats.limit }];
  for (const [key, label] of Object.entries(METRICS)) {
    const m = usage.metrics[key] || { total: 0, limit: null };
    bars.push({ label, used: m.total, limit: m.limit });
  }
  const width = 600; const row = 34; const left = 130; const barWidth = width - left - 150;
  const chart = svg("svg", { class: "chart", viewBox: `0 0 ${width} ${bars.length * row + 8}`, role: "img", "aria-labelledby": "usage-chart-title", width: "100%" });
  chart.append(svg("title", { id: "usage-chart-title" }, `Usage in ${usage.month} against the license's limits`));
  bars.forEach((b, i) => {
    const y = i * row + 6;
    const share = b.limit ? Math.min(b.used / b.limit, 1) : 0;
    chart.append(svg("text", { x: 0, y: y + 17 }, b.label),
      svg("rect", { class: "track", x: left, y, width: barWidth, height: 22, rx: 3 }),
      svg("rect", { class: b.limit && b.used >= b.limit ? "over" : "used", x: left, y, width: Math.max(share * barWidth, b.used ? 2 : 0), height: 22, rx: 3 }),
      svg("text", { x: left + barWidth + 8, y: y + 17 }, `${b.used} / ${b.limit ?? "unlimited"}`));
  });
  $("#usage-chart").replaceChildren(chart);
  $("#usage-table").replaceChildren(table(["Measure", { label: "Used", num: true }, { label: "Limit", num: true }],
    bars.map((b) => el("tr", { "data-metric": b.label }, el("td", {}, b.label), el("td", { class: "num" }, String(b.used)),
      el("td", { class: "num" }, b.limit === null ? "Unlimited" : String(b.limit))))));
}

// --- licenses -------------------------------------------------------------------------------

function b64url(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

/** Check an azl1 key's Ed25519 signature here, against the service's published keys. */
async function verifyHere(key) {
  const parts = key.split(".");
  if (parts.length !== 3 || parts[0] !== "azl1") return "malformed";
  const claims = JSON.parse(new TextDecoder().decode(b64url(parts[1])));
  const published = (await api("/v1/licenses/keys", { auth: null })).keys.find((k) => k.kid === claims.kid);
  if (!published) return "unknown-key";
  const cryptoKey = await crypto.subtle.importKey("raw", b64url(published.public_key), { name: "Ed25519" }, false, ["verify"]);
  const ok = await crypto.subtle.verify({ name: "Ed25519" }, cryptoKey, b64url(parts[2]), utf8(`azl1.${parts[1]}`));
  return ok ? null : "bad-signature";
}

async function verifyLicense(key) {
  await guarded($("#license-problem"), async () => {
    const [service, here] = await Promise.all([
      api("/v1/licenses/validate", { method: "POST", body: { key }, auth: null }),
      verifyHere(key).catch((error) => `not checkable here (${error.message || error})`),
    ]);
    const c = service.claims;
    $("#license-result").replaceChildren(el("div", { class: service.valid ? "notice" : "problem", "data-license-valid": String(service.valid) },
      el("p", {}, service.valid ? "The license key is valid." : `The license key is not valid: ${service.reason}.`),
      el("p", {}, here === null ? "Its Ed25519 signature also verifies in this browser." : `In this browser: ${here}.`),
      c ? el("p", { class: "hint" }, `${c.tier}, ${c.seats} seats, expires ${when(new Date(c.exp * 1000).toISOString())}, key ${c.kid}`) : null));
  });
}

async function loadLicenses(base) {
  await guarded($("#license-problem"), async () => {
    const page = await api(`${base}/licenses?limit=20`);
    $("#licenses").replaceChildren(page.data.length ? el("ul", {}, page.data.map((lic) => el("li", { "data-license": lic.id },
      el("p", {}, `${lic.tier}: ${lic.seats} seats, $${lic.price}/${lic.interval}, ${lic.status}, billing ${lic.billing_status}, until ${when(lic.expires_at)}`),
      lic.key ? [el("label", { for: `key-${lic.id}` }, "License key",
        el("textarea", { id: `key-${lic.id}`, readonly: true, rows: 3 }, lic.key)),
      el("button", { type: "button", onclick: () => verifyLicense(lic.key) }, "Verify the key")]
        : el("p", { class: "hint" }, "Only owners and admins see the key.")))) : el("p", { class: "hint" }, "No license yet."));
  });
}

// --- branding -------------------------------------------------------------------------------

async function loadBranding(base) {
  await guarded($("#branding-problem"), async () => {
    const b = await api(`${base}/branding`);
    const preview = el("div", { class: "brand-preview", "data-branding": b.display_name },
      el("p", { class: "amount" }, b.display_name),
      el("p", {}, "Accent sample ", el("span", { class: "badge" }, b.accent_color || "none")),
      el("p", { class: "hint" }, b.logo_url ? `Logo: ${b.logo_url} (not loaded: these pages fetch nothing from other hosts)` : "No logo."),
      b.support_email ? el("p", {}, `Support: ${b.support_email}`) : null);
    preview.style.setProperty("border-top", `8px solid ${b.primary_color}`);
    if (b.accent_color) preview.querySelector(".badge").style.setProperty("border-color", b.accent_color);
    $("#branding").replaceChildren(preview);
  });
}

// --- tickets --------------------------------------------------------------------------------

function slaState(t) {
  if (t.breached) return el("span", { class: "badge bad" }, t.first_response_breached ? "SLA breached: first response" : "SLA breached: resolution");
  if (t.resolved_at) return el("span", { class: "badge ok" }, "Resolved within SLA");
  const due = t.first_response_at ? t.resolution_due_at : t.first_response_due_at;
  return el("span", { class: "badge" }, `${t.first_response_at ? "Resolution" : "First response"} due ${when(due)}`);
}

async function loadTickets(base) {
  await guarded($("#ticket-problem"), async () => {
    const [page, sla] = await Promise.all([api(`${base}/tickets?limit=100`), api(`${base}/sla-report?month=${month()}`)]);
    $("#sla").replaceChildren(el("p", {}, `${sla.month}: ${sla.tickets} tickets, first response met ${sla.first_response_met}, resolution met ${sla.resolution_met}, compliance ${sla.compliance ?? "—"}.`));
    $("#tickets").replaceChildren(page.data.length ? table(["Subject", "Priority", "Status", "SLA", "Opened"],
      page.data.map((t) => el("tr", { "data-ticket": t.id, "data-breached": String(t.breached) },
        el("td", {}, t.subject), el("td", {}, t.priority), el("td", {}, t.status), el("td", {}, slaState(t)), el("td", {}, when(t.created_at)))))
      : el("p", { class: "hint" }, "No tickets."));
  });
}

$("#ticket-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const base = `/v1/orgs/${encodeURIComponent($("#org-select").value)}`;
  const body = Object.fromEntries(new FormData(event.target).entries());
  const made = await guarded($("#ticket-problem"), () => api(`${base}/tickets`, { method: "POST", body }));
  if (made) { event.target.reset(); await loadTickets(base); }
});
$("#org-form").addEventListener("submit", (event) => { event.preventDefault(); show(); });
