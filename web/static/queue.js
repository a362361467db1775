// Review queue: keyboard map, card pane, decisions without page loads, undo toast, claims, single-comment mode.
(function () {
  "use strict";
  const root = document.getElementById("queue");
  if (!root) return;
  const csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
  const pane = document.getElementById("card");
  const toast = document.getElementById("toast");
  const list = document.getElementById("rows");
  const cards = new Map(); // comment id -> card HTML, prefetched
  let current = null;
  let lastUndo = null; // {ids, rows, until}
  let toastTimer = null;
  let pendingReject = null; // "reject" | "thread" while the reason sheet is open

  const rows = () => (list ? [...list.querySelectorAll(".row")] : []);
  const open = (row) => row && !row.classList.contains("done") && !row.classList.contains("gone");
  const rowFor = (id) => document.getElementById("row-" + id);
  const narrow = window.matchMedia("(max-width: 900px)"); // the same width as queue.css's one-column layout
  // Messages in the page's language (web/i18n.py SCRIPT_MESSAGES); {name} fills in a value.
  const messages = JSON.parse(root.dataset.messages || "{}");
  const t = (key, fallback, values) =>
    (messages[key] || fallback).replace(/\{(\w+)\}/g, (m, k) => (values && k in values ? values[k] : m));

  async function post(url, data) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin", body: new URLSearchParams(data),
      headers: { "X-CSRFToken": csrf, "Accept": "application/json" },
    });
    let body = {};
    try { body = await response.json(); } catch (e) { body = { error: t("server", "The server answered {status}", { status: response.status }) }; }
    return { status: response.status, body };
  }

  function say(message, undoable, kind) {
    toast.querySelector(".msg").textContent = message;
    toast.querySelector(".undo").hidden = !undoable;
    toast.className = "toast " + (kind || "");
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toast.hidden = true; if (undoable) lastUndo = null; },
                            undoable ? 8000 : 5000);
  }

  async function fetchCard(row) {
    const id = row.dataset.id;
    if (!cards.has(id)) {
      cards.set(id, fetch(row.dataset.cardUrl, { credentials: "same-origin" }).then((r) => r.text()));
    }
    return cards.get(id);
  }

  async function show(row) {
    const html = await fetchCard(row);
    if (current !== row) return; // the moderator moved on meanwhile
    pane.innerHTML = html;
    applyThreadPref();
    // One column (a phone): the card sits above the list; bring it into view, or j would change nothing visible.
    if (narrow.matches) pane.scrollIntoView({ block: "start" });
    const next = neighbour(row, 1);
    if (next) fetchCard(next); // prefetch: the next card is there when j is pressed
  }

  async function claim(row) {
    const { body } = await post(row.dataset.claimUrl, {});
    if (body && body.holder && !body.mine) {
      markClaim(row, body.holder);
      if (current === row) say(t("looking", "{name} is already looking at this comment.", { name: body.holder }), false, "warn");
    }
  }

  function markClaim(row, holder) {
    row.classList.toggle("claimed", !!holder);
    const badge = row.querySelector(".claim");
    if (badge) badge.textContent = holder ? t("claimed", "claimed by {name}", { name: holder }) : "";
  }

  function focusRow(row) {
    if (!row) return;
    if (current) current.classList.remove("current");
    current = row;
    row.classList.add("current");
    row.scrollIntoView({ block: "nearest" });
    show(row);
    if (open(row)) claim(row);
  }

  function neighbour(row, step) {
    const all = rows();
    let i = all.indexOf(row);
    if (i < 0) return all[0];
    return all[i + step];
  }

  function nextOpen(row) {
    // Auto-advance skips what others have claimed; when only claimed ones are left, it takes those.
    const all = rows();
    const start = all.indexOf(row);
    const order = all.slice(start + 1).concat(all.slice(0, Math.max(start, 0)));
    return order.find((r) => open(r) && !r.classList.contains("claimed")) || order.find(open) || null;
  }

  function markDone(id, status, label) {
    const row = rowFor(id);
    if (!row) return;
    row.classList.add(label === "gone" ? "gone" : "done");
    row.dataset.status = status;
    row.querySelector(".state").textContent = label === "gone" ? "decided elsewhere" : status;
    cards.delete(String(id));
  }

  function reopen(id, seen) {
    const row = rowFor(id);
    if (!row) return;
    row.classList.remove("done", "gone");
    row.dataset.seen = seen;
    row.querySelector(".state").textContent = "";
    cards.delete(String(id));
  }

  function seenOf(id) {
    const form = pane.querySelector('form.decide[data-id="' + id + '"]');
    if (form) return form.querySelector('[name="seen"]').value;
    const row = rowFor(id);
    return row ? row.dataset.seen : "0";
  }

  async function decide(id, action, reason, withReplies) {
    const row = rowFor(id);
    const url = (row && row.dataset.decideUrl) || pane.querySelector('form.decide[data-id="' + id + '"]').action;
    const data = { action, seen: seenOf(id) };
    if (reason) data.reason = reason;
    if (withReplies) data.with_replies = "1";
    const { status, body } = await post(url, data);
    if (status === 200) {
      markDone(id, body.status, body.status);
      (body.replies || []).forEach((rid) => markDone(rid, "rejected", "rejected"));
      lastUndo = { ids: body.decisions, comment: id };
      say(body.message + " #" + id, true, "ok");
      const isMain = current && String(current.dataset.id) === String(id);
      if (isMain) focusRow(nextOpen(current)); // auto-advance
      else refreshCard();
      return;
    }
    if (body.taken) markDone(id, "", "gone");
    say(body.error || t("failed", "The decision failed."), false, "error");
    if (status === 409) refreshCard();
  }

  async function refreshCard() {
    // The card on screen shows the new state (a thread decision, a conflict, or the single card page).
    if (current) { cards.delete(current.dataset.id); show(current); return; }
    const card = pane.querySelector(".ccard");
    if (!card) return;
    const response = await fetch(location.pathname + "?fragment=1", { credentials: "same-origin" });
    if (response.ok) { pane.innerHTML = await response.text(); applyThreadPref(); }
  }

  async function undo() {
    if (!lastUndo) { say(t("nothing", "Nothing to undo."), false, "warn"); return; }
    const { ids, comment } = lastUndo;
    lastUndo = null;
    const { status, body } = await post(root.dataset.undoUrl, { decisions: ids.join(",") });
    if (status !== 200) { say(body.error || t("undo_failed", "Undo failed."), false, "error"); return; }
    Object.entries(body.seen || {}).forEach(([id, seen]) => reopen(id, seen));
    Object.keys(body.restored || {}).forEach((id) => { if (!(id in (body.seen || {}))) reopen(id, 0); });
    say(t("undone", "Undone") + " #" + comment, false, "ok");
    const row = rowFor(comment);
    if (row) focusRow(row);
    else refreshCard();
  }

  function mainId() {
    // The highlighted row wins: a key pressed before its card has arrived still means that comment.
    if (current) return current.dataset.id;
    const card = pane.querySelector(".ccard");
    return card ? card.dataset.id : null;
  }

  function sheet(id) { return document.getElementById(id); }

  function openReasons(kind) {
    if (!mainId()) return;
    pendingReject = kind;
    const el = sheet("reasons");
    if (!el) return;
    el.querySelector("#reasons-title").textContent =
      kind === "thread" ? t("thread_reason", "Reject with all replies: reason") : t("reject_reason", "Reject: reason");
    el.hidden = false;
  }

  function closeSheets() {
    ["reasons", "help"].forEach((id) => { const el = sheet(id); if (el) el.hidden = true; });
    pendingReject = null;
  }

  function applyThreadPref() {
    const hidden = localStorage.getItem("queue.thread") === "hidden";
    pane.querySelectorAll(".thread").forEach((t) => { t.hidden = hidden; });
  }

  function toggleThread() {
    const hidden = localStorage.getItem("queue.thread") === "hidden";
    localStorage.setItem("queue.thread", hidden ? "shown" : "hidden");
    applyThreadPref();
  }

  function toggleSingle() {
    const on = !document.body.classList.contains("single");
    document.body.classList.toggle("single", on);
    localStorage.setItem("queue.single", on ? "on" : "off");
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = event.target.closest("input, select, textarea");
    if (event.key === "Escape") {
      closeSheets();
      if (typing) event.target.blur();
      return;
    }
    if (typing) return;
    const key = event.key;
    if (pendingReject) {
      const reasons = [...sheet("reasons").querySelectorAll("[data-code]")];
      const n = parseInt(key, 10);
      if (n >= 1 && n <= reasons.length) {
        const kind = pendingReject;
        closeSheets();
        decide(mainId(), "reject", reasons[n - 1].dataset.code, kind === "thread");
      }
      event.preventDefault();
      return;
    }
    const actions = {
      j: () => focusRow(current ? neighbour(current, 1) || current : rows().find(open) || rows()[0]),
      k: () => focusRow(current ? neighbour(current, -1) || current : rows()[0]),
      a: () => { const id = mainId(); if (id) decide(id, "approve"); },
      r: () => openReasons("reject"),
      x: () => openReasons("thread"),
      u: undo,
      t: toggleThread,
      s: toggleSingle,
      n: () => { const a = document.getElementById("arrivals"); if (a) location.href = a.href; },
      "/": () => { const s = document.getElementById("search"); if (s) s.focus(); },
      "?": () => { const h = sheet("help"); if (h) h.hidden = !h.hidden; },
      " ": () => { if (current) { const c = current.querySelector(".pick"); c.checked = !c.checked; } },
    };
    if (actions[key]) { event.preventDefault(); actions[key](); }
  });

  // Forms in the card (and in its thread) decide without a page load; without this script they post normally.
  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form.decide");
    if (!form) return;
    event.preventDefault();
    const button = event.submitter;
    const action = button ? button.value : "approve";
    const reason = action === "reject" ? form.querySelector('[name="reason"]').value : null;
    const replies = form.querySelector('[name="with_replies"]');
    decide(form.dataset.id, action, reason, replies && replies.checked);
  });

  if (list) list.addEventListener("click", (event) => {
    const row = event.target.closest(".row");
    if (row && !event.target.closest(".pick")) focusRow(row);
  });
  toast.querySelector(".undo").addEventListener("click", undo);
  if (localStorage.getItem("queue.single") === "on") document.body.classList.add("single");
  applyThreadPref();

  // Other moderators: their claims and decisions show on the listed rows without reshuffling the list.
  async function poll() {
    const ids = rows().map((r) => r.dataset.id);
    if (!ids.length || !root.dataset.claimsUrl) return;
    try {
      const response = await fetch(root.dataset.claimsUrl + "?ids=" + ids.join(","), { credentials: "same-origin" });
      const body = await response.json();
      rows().forEach((row) => {
        markClaim(row, body.claims[row.dataset.id]);
        const status = body.statuses[row.dataset.id];
        if (status && status !== row.dataset.status && open(row)) markDone(row.dataset.id, status, "gone");
      });
    } catch (e) { /* offline for a moment: try again on the next tick */ }
  }
  setInterval(poll, 4000);
  // A claim lapses after two minutes; while the moderator stays on a comment, it is renewed.
  setInterval(() => { if (current && open(current) && !document.hidden) claim(current); }, 60000);
})();
