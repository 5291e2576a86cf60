// Plans (/app/plans): the tier selector with its feature matrix; upgrade, downgrade, cancel.
import { $, api, el, guarded, initSession, newKey, notice, paymentSelect, table, when } from "./common.js";

const state = { user: null, plans: [], features: [], subscription: null };

$("#pay-method").append(paymentSelect("plan-payment"));
loadPlans().then(() => initSession((user) => { state.user = user; loadSubscription(); }));

async function loadPlans() {
  await guarded($("#plans-problem"), async () => {
    const listed = await api("/v1/plans", { auth: null });
    state.plans = listed.data;
    state.features = listed.features;
    renderMatrix();
    renderPlans();
  });
}

function featureText(value, type) {
  if (value === null) return "Unlimited";
  if (value === true) return "Yes";
  if (value === false) return "No";
  return type === "limit" ? String(value) : String(value);
}

function renderMatrix() {
  const rows = state.features.map((f) => el("tr", {},
    el("th", { scope: "row" }, f.name, el("br"), el("span", { class: "hint" }, f.description)),
    state.plans.map((p) => el("td", { "data-plan": p.id, "data-feature": f.key }, featureText(p.features[f.key], f.type)))));
  $("#matrix").replaceChildren(table(["Feature", ...state.plans.map((p) => p.name)], rows, { "aria-labelledby": "matrix-title" }));
}

function price(plan) {
  return plan.price === "0.00" ? "Free" : `$${plan.price} / ${plan.interval}`;
}

function renderPlans() {
  const sub = state.subscription;
  const order = state.plans.map((p) => p.id);
  $("#plans").replaceChildren(...state.plans.map((plan) => {
    const current = sub && sub.plan === plan.id;
    let action = null;
    if (state.user && !current) {
      const up = !sub || order.indexOf(plan.id) > order.indexOf(sub.plan);
      action = el("button", { type: "button", "data-choose": plan.id, onclick: () => choose(plan) },
        `${up ? "Upgrade" : "Downgrade"} to ${plan.name}`);
    }
    return el("article", { class: current ? "plan current" : "plan", "data-plan-card": plan.id, "aria-current": current ? "true" : null },
      el("h3", {}, plan.name, current ? " (your plan)" : ""), el("p", { class: "amount" }, price(plan)), action);
  }));
}

async function loadSubscription() {
  if (!state.user) { state.subscription = null; renderPlans(); return; }
  await guarded($("#plan-problem"), async () => {
    state.subscription = await api(`/v1/users/${state.user}/subscription`);
    renderSubscription();
    renderPlans();
  });
}

function renderSubscription() {
  const s = state.subscription;
  const facts = [["Plan", s.plan], ["Status", s.status], ["Period", s.current_period_end ? `${when(s.current_period_start)} – ${when(s.current_period_end)}` : "—"]];
  if (s.scheduled_plan) facts.push(["At the period's end", `changes to ${s.scheduled_plan}`]);
  if (s.cancel_at_period_end) facts.push(["At the period's end", "cancels (back to free)"]);
  const pending = s.cancel_at_period_end || s.scheduled_plan;
  $("#subscription").replaceChildren(el("div", {},
    el("dl", { class: "facts", "data-subscription": s.plan, "data-status": s.status },
      facts.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
    s.plan !== "free" && !s.cancel_at_period_end ? el("button", { type: "button", class: "secondary", onclick: () => act("cancel") }, "Cancel at the period's end") : null,
    pending ? el("button", { type: "button", class: "secondary", onclick: () => act("resume") }, "Keep my plan (undo the change)") : null));
}

async function choose(plan) {
  const changed = await guarded($("#plan-problem"), () => api(`/v1/users/${state.user}/subscription`, {
    method: "POST", idempotencyKey: newKey(), body: { plan: plan.id, payment_method: $("#plan-payment").value },
  }));
  if (!changed) return;
  const charged = changed.charge ? ` Charged $${changed.charge.amount}.` : "";
  const scheduled = changed.scheduled_plan ? ` ${changed.scheduled_plan} starts at the period's end.` : "";
  notice($("#plan-notice"), `Your plan: ${changed.plan}.${charged}${scheduled}`);
  state.subscription = changed;
  renderSubscription();
  renderPlans();
}

async function act(what) {
  const done = await guarded($("#plan-problem"), () => api(`/v1/users/${state.user}/subscription/${what}`, { method: "POST" }));
  if (done) {
    notice($("#plan-notice"), what === "cancel" ? "Your plan ends at the period's end." : "The scheduled change is undone.");
    state.subscription = done;
    renderSubscription();
    renderPlans();
  }
}
