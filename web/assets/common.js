// What every page shares: the user token (sessionStorage only), calls to the public API,
// problem+json errors shown as they are, and a small DOM builder (text only, never HTML).

const TOKEN_KEY = "azora.token";

/** Build an element: attributes (on* are listeners), then children (strings become text). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function $(selector) {
  return document.querySelector(selector);
}

/**
 * Number the calls of one loader so that only the newest one's answer is shown: an earlier
 * answer that arrives late (the first listing after a search, say) is dropped instead of
 * landing on top of a newer one. `const turn = newestOnly();` then, in the loader,
 * `const current = turn(); ...await...; if (!current()) return;`.
 */
export function newestOnly() {
  let issued = 0;
  return () => {
    const mine = ++issued;
    return () => mine === issued;
  };
}

// --- the token --------------------------------------------------------------------------

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** The user id of the token (its `sub`), or null: read only to address the API. */
export function userId() {
  const t = token();
  if (!t) return null;
  try {
    const part = t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const sub = JSON.parse(atob(part)).sub;
    return typeof sub === "string" ? sub : null;
  } catch {
    return null;
  }
}

/** A token in the URL fragment (`#token=...`) moves to sessionStorage, out of the URL. */
function takeTokenFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const given = params.get("token");
  if (given) {
    setToken(given.trim());
    history.replaceState(null, "", location.pathname + location.search);
  }
}

// --- the API ----------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(problem) {
    super(problem.detail || problem.title || "request failed");
    this.problem = problem;
  }
}

export function problemCode(problem) {
  const type = String(problem.type || "");
  return type.slice(type.lastIndexOf("/") + 1);
}

/** Call the service's own API; a non-2xx answer throws ApiError with its problem body. */
export async function api(path, { method = "GET", body, idempotencyKey, auth = token() } = {}) {
  const headers = { Accept: "application/json" };
  if (auth) headers.Authorization = `Bearer ${auth}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch (error) {
    throw new ApiError({ title: "The service did not answer", detail: String(error), status: 0 });
  }
  const type = response.headers.get("Content-Type") || "";
  const payload = type.includes("json") ? await response.json().catch(() => null) : await response.text();
  if (!response.ok) {
    const problem = payload && typeof payload === "object" ? payload
      : { title: `HTTP ${response.status}`, status: response.status, detail: String(payload || "") };
    throw new ApiError(problem);
  }
  return payload;
}

export function newKey() {
  return crypto.randomUUID();
}

// --- showing results --------------------------------------------------------------------

/** Show an error in `box` (a `.problem` element): title, status, detail, type link. */
export function showProblem(box, error) {
  box.replaceChildren();
  const problem = error instanceof ApiError ? error.problem : { title: "Error", detail: String(error) };
  const code = problemCode(problem);
  box.append(
    el("h3", {}, problem.title || "Error", problem.status ? ` (${problem.status})` : ""),
    problem.detail ? el("p", { "data-problem-detail": "" }, problem.detail) : null,
    code ? el("p", {}, "Type: ", el("a", { href: `/problems/${encodeURIComponent(code)}` }, code)) : null,
  );
  for (const item of problem.errors || []) {
    box.append(el("p", { class: "hint" }, `${(item.loc || []).join(".")}: ${item.msg}`));
  }
  box.setAttribute("role", "alert");
}

export function clearBox(box) {
  box.replaceChildren();
}

export function notice(box, text) {
  box.replaceChildren(el("p", {}, text));
  box.setAttribute("role", "status");
}

/** Run `action`; its failure goes to `box` (and `box` is cleared first). */
export async function guarded(box, action) {
  clearBox(box);
  try {
    return await action();
  } catch (error) {
    showProblem(box, error);
    return undefined;
  }
}

/** Exact decimal string without trailing zeros ("10.500000" → "10.5"): no rounding. */
export function trimAmount(text) {
  const value = String(text);
  if (!value.includes(".")) return value;
  return value.replace(/0+$/, "").replace(/\.$/, "");
}

export function amountEl(value, asset, attrs = {}) {
  return el("span", { class: "amount", "data-amount": value, title: `${value} ${asset}`, ...attrs },
    `${trimAmount(value)} ${asset}`);
}

export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

export function table(headers, rows, attrs = {}) {
  return el("div", { class: "table-wrap" },
    el("table", attrs,
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col", class: h.num ? "num" : null }, h.label ?? h)))),
      el("tbody", {}, rows)));
}

// --- the session panel ------------------------------------------------------------------

/**
 * Fill `#session` with the sign-in form ("Token"), and, marked as development only, a
 * form that asks the service for a user token with an admin key. `onChange(userId)` runs
 * now and after every sign-in or sign-out.
 */
let pageConfig = null;

/** The service's /app/config.json (public RPC URL, development or not), fetched once. */
export function config() {
  pageConfig ??= api("/app/config.json", { auth: null }).catch(() => ({ rpc_url: "", development: false }));
  return pageConfig;
}

export function initSession(onChange) {
  takeTokenFromFragment();
  const box = $("#session");
  const problem = el("div", { class: "problem" });
  const render = () => {
    const who = userId();
    box.replaceChildren();
    if (who) {
      box.append(el("p", {}, "Signed in as user ", el("strong", { "data-user": who }, who), ". ",
        el("button", { type: "button", class: "secondary", onclick: () => { setToken(null); render(); } }, "Sign out")));
    } else {
      const dev = devTokenForm(render, problem);
      dev.hidden = true;
      config().then((c) => { dev.hidden = !c.development; });
      box.append(signInForm(render, problem), dev, problem);
    }
    onChange(who);
  };
  render();
}

function signInForm(render, problem) {
  const input = el("input", { id: "token-input", name: "token", type: "password", autocomplete: "off", required: true });
  return el("form", {
    class: "inline", "aria-label": "Sign in",
    onsubmit: (event) => {
      event.preventDefault();
      clearBox(problem);
      setToken(input.value.trim());
      if (!userId()) { setToken(null); showProblem(problem, "That is not a user token (a JWT with a user id)."); return; }
      render();
    },
  },
  el("label", { for: "token-input" }, "Token", input),
  el("button", { type: "submit" }, "Sign in"));
}

function devTokenForm(render, problem) {
  const user = el("input", { id: "dev-user", name: "user_id", required: true, pattern: "[a-z0-9][a-z0-9_-]{0,63}", autocomplete: "off" });
  const key = el("input", { id: "dev-key", name: "admin_key", type: "password", required: true, autocomplete: "off" });
  const form = el("form", {
    class: "inline", "aria-label": "Get a development token",
    onsubmit: async (event) => {
      event.preventDefault();
      const issued = await guarded(problem, () => api("/v1/admin/tokens", {
        method: "POST", body: { user_id: user.value.trim() }, auth: key.value.trim(),
      }));
      if (issued) { setToken(issued.token); render(); }
    },
  },
  el("label", { for: "dev-user" }, "User id", user),
  el("label", { for: "dev-key" }, "Admin API key", key),
  el("button", { type: "submit", class: "secondary" }, "Get a token"));
  return el("details", { class: "dev" },
    el("summary", {}, "Development only: get a user token with the admin key"),
    el("p", { class: "hint" }, "The admin key is sent once to this service and not kept. In production, users get their token from the platform."),
    form);
}

// The local payment provider's test methods (DESIGN §10), named like Stripe's.
export const TEST_PAYMENT_METHODS = [
  ["pm_card_visa", "Test card: succeeds"],
  ["pm_card_chargeDeclined", "Test card: declined"],
  ["pm_card_unavailable", "Test card: provider unavailable"],
];

export function paymentSelect(id) {
  return el("label", { for: id }, "Payment method",
    el("select", { id, name: "payment_method" }, TEST_PAYMENT_METHODS.map(([value, label]) => el("option", { value }, label))));
}
