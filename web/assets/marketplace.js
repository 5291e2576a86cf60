// The marketplace (/app/marketplace): search with filters and sort, a course with its
// reviews, a purchase with the test payment methods, and the user's library.
import { $, api, el, guarded, initSession, newestOnly, newKey, notice, paymentSelect, table, when } from "./common.js";

const state = { user: null, cursor: null, query: "", course: null };
const searchTurn = newestOnly();

$("#buy-method").append(paymentSelect("buy-payment"));
initSession((user) => {
  state.user = user;
  loadLibrary();
  if (state.course) openCourse(state.course.id);
});
search(true);
const wanted = new URLSearchParams(location.search).get("course");
if (wanted) openCourse(wanted);

function queryString() {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData($("#search-form")).entries()) {
    if (String(value).trim()) params.set(name, String(value).trim());
  }
  return params.toString();
}

function price(course) {
  return course.price === "0.00" ? "Free" : `$${course.price}`;
}

function rating(course) {
  return course.rating_count ? `★ ${course.rating_average} (${course.rating_count})` : "No ratings yet";
}

async function search(fresh) {
  if (!$("#search-form").reportValidity()) return;
  await guarded($("#search-problem"), async () => {
    const current = searchTurn();
    if (fresh) { state.cursor = null; state.query = queryString(); }
    const cursor = state.cursor ? `&cursor=${encodeURIComponent(state.cursor)}` : "";
    const page = await api(`/v1/courses?limit=20&${state.query}${cursor}`, { auth: null });
    if (!current()) return;  // a newer search has started: its answer renders
    if (fresh) $("#results").replaceChildren();
    state.cursor = page.next_cursor;
    $("#results-more").hidden = !page.next_cursor;
    $("#results").append(...page.data.map((c) => el("li", { "data-course": c.id },
      el("h3", {}, c.title), el("p", {}, `${price(c)} · ${c.level} · ${c.language} · ${c.category}`),
      el("p", { class: "hint" }, `${rating(c)} · ${c.purchase_count} bought`),
      el("button", { type: "button", class: "secondary", onclick: () => openCourse(c.id) }, `Open ${c.title}`))));
    const shown = $("#results").children.length;
    $("#results-count").textContent = shown ? `${shown} course${shown === 1 ? "" : "s"} shown.` : "No course matches.";
  });
}

async function openCourse(id) {
  const course = await guarded($("#buy-problem"), () => api(`/v1/courses/${encodeURIComponent(id)}`));
  if (!course) return;
  state.course = course;
  $("#course").hidden = false;
  $("#course-title").textContent = course.title;
  $("#course-body").replaceChildren(
    el("p", {}, course.description || ""),
    el("dl", { class: "facts" },
      [["Price", price(course)], ["Level", course.level], ["Language", course.language], ["Category", course.category],
        ["Tags", course.tags.join(", ") || "—"], ["Instructor", course.instructor_id], ["Rating", rating(course)]]
        .map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])));
  $("#buy-button").textContent = `Buy for ${price(course)}`;
  $("#buy-form").hidden = !state.user;
  $("#review-form").hidden = !state.user;
  $("#course").focus();
  await loadReviews();
}

async function loadReviews() {
  if (!state.user) { $("#reviews").replaceChildren(el("p", { class: "hint" }, "Sign in to read the reviews.")); return; }
  await guarded($("#review-problem"), async () => {
    const page = await api(`/v1/courses/${state.course.id}/reviews?limit=50`);
    $("#reviews").replaceChildren(page.data.length
      ? el("ul", {}, page.data.map((r) => el("li", { "data-review": r.id },
        el("strong", {}, `${"★".repeat(r.rating)}${"☆".repeat(5 - r.rating)} `), `by ${r.author_id}, ${when(r.created_at)}: `, r.text,
        r.reply ? el("p", { class: "hint" }, `Instructor's reply: ${r.reply.text}`) : null)))
      : el("p", { class: "hint" }, "No reviews yet."));
  });
}

$("#buy-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const bought = await guarded($("#buy-problem"), () => api(`/v1/courses/${state.course.id}/purchases`, {
    method: "POST", idempotencyKey: newKey(), body: { payment_method: $("#buy-payment").value },
  }));
  if (bought) {
    notice($("#buy-notice"), `Bought ${state.course.title} for $${bought.price} (purchase ${bought.id}, refundable until ${when(bought.refundable_until)}).`);
    await Promise.all([loadLibrary(), openCourse(state.course.id)]);
  }
});

$("#review-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const posted = await guarded($("#review-problem"), () => api(`/v1/courses/${state.course.id}/reviews`, {
    method: "POST", body: { rating: Number($("#review-rating").value), text: $("#review-text").value },
  }));
  if (posted) { $("#review-text").value = ""; await openCourse(state.course.id); }
});

async function refund(purchaseId) {
  const done = await guarded($("#library-problem"), () => api(`/v1/purchases/${purchaseId}/refund`, { method: "POST", body: {} }));
  if (done) await loadLibrary();
}

async function loadLibrary() {
  if (!state.user) { $("#library").replaceChildren(el("p", { class: "hint" }, "Sign in to see the courses you bought.")); return; }
  await guarded($("#library-problem"), async () => {
    const page = await api(`/v1/users/${state.user}/library?limit=100`);
    const rows = page.data.map((item) => el("tr", { "data-library": item.course.id },
      el("td", {}, item.course.title), el("td", {}, price(item.course)), el("td", {}, when(item.purchased_at)),
      el("td", {}, el("button", { type: "button", class: "secondary", onclick: () => refund(item.purchase_id) }, `Refund ${item.course.title}`))));
    $("#library").replaceChildren(rows.length
      ? table(["Course", "Price", "Bought", ""], rows)
      : el("p", { class: "hint" }, "No courses yet."));
  });
}

$("#search-form").addEventListener("submit", (event) => { event.preventDefault(); search(true); });
$("#results-more").addEventListener("click", () => search(false));
