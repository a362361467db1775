// Author drawer: Shift+A or the author button opens it over the queue; its forms post in place; Esc closes it.
(function () {
  "use strict";
  const KEY = "A"; // "a" approves in the queue (queue.js), so the author is Shift+A
  const csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
  let shell = null;
  let opener = null;

  function ensureShell() {
    if (shell) return shell;
    shell = document.createElement("aside");
    shell.className = "adrawer-shell";
    shell.id = "author-drawer";
    shell.setAttribute("role", "dialog");
    shell.setAttribute("aria-labelledby", "author-title");
    shell.hidden = true;
    document.body.appendChild(shell);
    return shell;
  }

  const fragment = (url) => url + (url.includes("?") ? "&" : "?") + "fragment=1";
  const isOpen = () => shell && !shell.hidden;

  function fill(html) {
    ensureShell().innerHTML = html;
    shell.hidden = false;
    document.body.classList.add("drawer-open");
    const title = shell.querySelector("#author-title");
    if (title) title.focus();
    markRejected();
  }

  function markRejected() {
    // The comments an action rejected (or an undo restored): the queue's rows show it at once.
    const root = shell.querySelector(".adrawer");
    const ids = root && root.dataset.rejected ? root.dataset.rejected.split(",") : [];
    ids.forEach((id) => {
      const row = document.getElementById("row-" + id);
      if (!row) return;
      row.classList.add("gone");
      row.dataset.status = "rejected";
      const state = row.querySelector(".state");
      if (state) state.textContent = root.dataset.rejectedLabel;
    });
    // An undo's comments are back in their queue: the row is live again, with the status they have now.
    JSON.parse((root && root.dataset.restored) || "[]").forEach(([id, status, label]) => {
      const row = document.getElementById("row-" + id);
      if (!row) return;
      row.classList.remove("gone");
      row.dataset.status = status;
      const state = row.querySelector(".state");
      if (state) state.textContent = label;
    });
  }

  async function openUrl(url, from) {
    opener = from || document.activeElement;
    const response = await fetch(fragment(url), { credentials: "same-origin" });
    fill(await response.text());
  }

  function close() {
    if (!isOpen()) return;
    shell.hidden = true;
    document.body.classList.remove("drawer-open");
    if (opener && opener.focus) opener.focus();
  }

  function target() {
    // The highlighted row's author first; else the card on screen (the single card page).
    return document.querySelector(".row.current .author-open") || document.querySelector("#card .ccard .author-open")
      || document.querySelector(".ccard .author-open");
  }

  // Capture phase: while the drawer is open the queue's keys (a approves, j moves) must not act behind it.
  window.addEventListener("keydown", (event) => {
    const typing = event.target.closest && event.target.closest("input, select, textarea");
    if (isOpen()) {
      if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); close(); return; }
      if (!typing) event.stopPropagation();
      return;
    }
    if (typing || event.ctrlKey || event.metaKey || event.altKey || event.key !== KEY) return;
    const link = target();
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    openUrl(link.href, link);
  }, true);

  document.addEventListener("click", (event) => {
    const link = event.target.closest("a.author-open");
    if (link) { event.preventDefault(); openUrl(link.href, link); return; }
    if (isOpen() && event.target.closest("#author-drawer .aclose")) { event.preventDefault(); close(); }
  });

  // The drawer's forms answer with the drawer again (the outcome on top); without this script they post as pages.
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!shell || !shell.contains(form)) return;
    event.preventDefault();
    const data = new URLSearchParams(new FormData(form));
    data.set("fragment", "1");
    form.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    // getAttribute: the form has a field named "action", which shadows form.action.
    const response = await fetch(form.getAttribute("action"), {
      method: "POST", credentials: "same-origin", body: data, headers: { "X-CSRFToken": csrf },
    });
    fill(await response.text());
  });
})();
