// Review queue: keyboard map, card pane, decisions without page loads, undo toast, claims, single-comment mode,
// queue switching by key (g then 1-5, p, r; [ and ]), walking the card's thread (n / p), the tab counts as each
// decision's answer reads them, and the "queue clear" state.
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
  Object.assign(messages, JSON.parse(root.dataset.more || "{}"));
  const t = (key, fallback, values) =>
    (messages[key] || fallback).replace(/\{(\w+)\}/g, (m, k) => (values && k in values ? values[k] : m));
  const numbers = new Intl.NumberFormat(document.documentElement.lang || undefined);
  let threadFocus = null; // id of the thread comment n / p moved to; null: the card's own comment
  let goPending = null; // timer while "g" waits for its second key
  let localChange = 0; // bumped on each of this page's own decisions and undos
  let countsAt = 0; // when the tab counts were last set from a decision's answer

  async function post(url, data) {
    if (root.dataset.article) data.article = root.dataset.article; // the scope the tab counts come back for
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
    applyFocus();
    // One column (a phone): the card sits above the list; bring it into view, or j would change nothing visible.
    if (narrow.matches) toTop(pane);
    const next = neighbour(row, 1);
    if (next) fetchCard(next); // prefetch: the next card is there when j is pressed
  }

  function toTop(el) {
    // Whole pixels: scrollIntoView can leave the edge a fraction of a pixel above the screen.
    window.scrollTo(0, Math.floor(window.scrollY + el.getBoundingClientRect().top));
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
    if (row !== current) threadFocus = null;
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
    row.querySelector(".state").textContent =
      label === "gone" ? t("elsewhere", "decided elsewhere") : (messages["st_" + status] || status);
    cards.delete(String(id));
  }

  function reopen(id, seen, status) {
    // One's own undo: the row is open again with the status the undo restored, so the next poll of the
    // statuses does not take the row for one decided elsewhere.
    const row = rowFor(id);
    if (!row) return;
    row.classList.remove("done", "gone");
    row.dataset.seen = seen;
    if (status) row.dataset.status = status;
    row.dataset.changed = String(localChange);
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
    // getAttribute: the form's own .action is shadowed by its button named "action" (a RadioNodeList).
    const url = (row && row.dataset.decideUrl) ||
      pane.querySelector('form.decide[data-id="' + id + '"]').getAttribute("action");
    const data = { action, seen: seenOf(id) };
    if (reason) data.reason = reason;
    if (withReplies) data.with_replies = "1";
    localChange += 1;
    if (row) row.dataset.changed = String(localChange);
    const { status, body } = await post(url, data);
    if (status === 200) {
      setCounts(body.counts);
      markDone(id, body.status, body.status);
      (body.replies || []).forEach((rid) => markDone(rid, "rejected", "rejected"));
      lastUndo = { ids: body.decisions, comment: id };
      say(body.message + " #" + id, true, "ok");
      const isMain = current && String(current.dataset.id) === String(id) && !threadFocus;
      if (isMain) {
        const next = nextOpen(current);
        if (next) focusRow(next); // auto-advance
        else cleared();
      } else refreshCard();
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
    if (response.ok) { pane.innerHTML = await response.text(); applyThreadPref(); applyFocus(); }
  }

  async function undo() {
    if (!lastUndo) { say(t("nothing", "Nothing to undo."), false, "warn"); return; }
    const { ids, comment } = lastUndo;
    lastUndo = null;
    localChange += 1;
    const { status, body } = await post(root.dataset.undoUrl, { decisions: ids.join(",") });
    if (status !== 200) { say(body.error || t("undo_failed", "Undo failed."), false, "error"); return; }
    setCounts(body.counts);
    const restored = body.restored || {};
    Object.entries(body.seen || {}).forEach(([id, seen]) => reopen(id, seen, restored[id]));
    Object.keys(restored).forEach((id) => { if (!(id in (body.seen || {}))) reopen(id, 0, restored[id]); });
    hideClear();
    say(t("undone", "Undone") + " #" + comment, false, "ok");
    const row = rowFor(comment);
    if (row) focusRow(row);
    else refreshCard();
  }

  function mainId() {
    // A thread comment moved to with n / p is the one the keys decide; else the highlighted row (a key pressed
    // before its card has arrived still means that comment).
    if (threadFocus && pane.querySelector('.tnode[data-id="' + threadFocus + '"]')) return threadFocus;
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

  // -- The card's thread, walked with n / p: its comments in the order shown, the card's own comment among them.
  function threadStops() {
    return [...pane.querySelectorAll(".ccard .tnode")].filter((n) => n.dataset.id || n.classList.contains("self"));
  }

  function applyFocus() {
    pane.querySelectorAll(".tnode.tfocus").forEach((n) => n.classList.remove("tfocus"));
    if (!threadFocus) return;
    const node = pane.querySelector('.tnode[data-id="' + threadFocus + '"]');
    if (!node) { threadFocus = null; return; }
    node.classList.add("tfocus");
    node.scrollIntoView({ block: "nearest" });
  }

  function walkThread(step) {
    const stops = threadStops();
    if (!stops.length) return;
    const thread = pane.querySelector(".thread");
    if (thread && thread.hidden) toggleThread(); // walking a folded thread unfolds it
    let i = stops.findIndex((n) => (threadFocus ? n.dataset.id === String(threadFocus) : n.classList.contains("self")));
    i = Math.min(Math.max(i + step, 0), stops.length - 1);
    threadFocus = stops[i].dataset.id || null; // the card's own comment: no thread focus
    applyFocus();
    if (!threadFocus) {
      const self = stops[i];
      self.scrollIntoView({ block: "nearest" });
    }
  }

  // -- Queues: g then the tab's number (or p, r), and [ / ] for the previous / next tab.
  function tabs() { return [...document.querySelectorAll("#tabs .tab")]; }

  function goQueue(which) {
    const all = tabs();
    const on = all.findIndex((a) => a.classList.contains("on"));
    let target = null;
    if (typeof which === "number") target = all[which];
    else if (which === "next") target = all[(on + 1) % all.length];
    else if (which === "previous") target = all[(on - 1 + all.length) % all.length];
    else target = all.find((a) => a.dataset.queue === which);
    if (target) location.href = target.href;
  }

  function goKey(key) {
    const letters = { p: "pending", r: "reported" };
    const n = parseInt(key, 10);
    if (n >= 1 && n <= tabs().length) goQueue(n - 1);
    else if (letters[key]) goQueue(letters[key]);
  }

  // -- Counts from a decision's answer: set at once, and an older poll's tabs are not swapped in over them.
  function setCounts(counts) {
    if (!counts) return;
    countsAt = performance.now();
    Object.entries(counts).forEach(([queue, n]) => {
      const el = document.querySelector('#tabs .tab[data-queue="' + queue + '"] .count');
      if (el) el.textContent = numbers.format(n);
    });
    root.dataset.counts = JSON.stringify(counts);
    const oldest = document.querySelector("#waiting .oldest");
    if (oldest && counts[root.dataset.queue] === 0) oldest.textContent = t("nobody", "Nobody is waiting.");
  }

  document.body.addEventListener("htmx:beforeRequest", (event) => {
    if (event.detail.elt && event.detail.elt.id === "tabs") event.detail.xhr.sentAt = performance.now();
  });
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const xhr = event.detail.xhr;
    if (event.detail.target && event.detail.target.id === "tabs" && xhr && xhr.sentAt < countsAt) {
      event.detail.shouldSwap = false; // read before the newest decision: its counts are older than the tabs
    }
  });

  // -- Queue clear: the last open row was decided.
  function cleared() {
    if (current) current.classList.remove("current");
    current = null;
    threadFocus = null;
    const counts = JSON.parse(root.dataset.counts || "{}");
    const left = counts[root.dataset.queue];
    const tpl = document.getElementById(left ? "page-done" : "queue-clear");
    if (!tpl) return;
    pane.innerHTML = "";
    const node = tpl.content.cloneNode(true);
    node.querySelectorAll("[data-left]").forEach((el) => { el.textContent = numbers.format(left || 0); });
    pane.appendChild(node);
    document.body.classList.add("is-clear");
    if (narrow.matches) toTop(pane);
  }

  function hideClear() {
    document.body.classList.remove("is-clear");
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = event.target.closest("input, select, textarea");
    if (event.key === "Escape") {
      if (threadFocus && !pendingReject) { threadFocus = null; applyFocus(); } // back to the card's own comment
      closeSheets();
      if (typing) event.target.blur();
      return;
    }
    if (typing) return;
    const key = event.key;
    if (goPending) {
      clearTimeout(goPending);
      goPending = null;
      event.preventDefault();
      goKey(key);
      return;
    }
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
      n: () => walkThread(1),
      p: () => walkThread(-1),
      N: () => { const a = document.getElementById("arrivals"); if (a) location.href = a.href; },
      g: () => { goPending = setTimeout(() => { goPending = null; }, 1500); },
      "[": () => goQueue("previous"),
      "]": () => goQueue("next"),
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
    const asked = localChange;
    try {
      const response = await fetch(root.dataset.claimsUrl + "?ids=" + ids.join(","), { credentials: "same-origin" });
      const body = await response.json();
      rows().forEach((row) => {
        markClaim(row, body.claims[row.dataset.id]);
        const status = body.statuses[row.dataset.id];
        // A row this page decided or undid after the poll was sent: the poll's status is older than the row's.
        if (Number(row.dataset.changed || 0) > asked) return;
        if (status && status !== row.dataset.status && open(row)) markDone(row.dataset.id, status, "gone");
      });
    } catch (e) { /* offline for a moment: try again on the next tick */ }
  }
  setInterval(poll, 4000);
  // A claim lapses after two minutes; while the moderator stays on a comment, it is renewed.
  setInterval(() => { if (current && open(current) && !document.hidden) claim(current); }, 60000);
})();
