// The batch view: drag a range on the histogram (mouse, pen or touch via pointer events) or move it with the
// arrow keys, exclude rows, choose the action explicitly, Enter applies once the count is confirmed, u undoes.
(function () {
  "use strict";
  var svg, lo, hi, bins, loading = null;

  function $(id) { return document.getElementById(id); }

  function fmt(x) {  // in the page's language: "0,70" in German
    return x.toLocaleString(document.documentElement.lang || undefined, {minimumFractionDigits: 2, maximumFractionDigits: 2});
  }

  function range() { return [Math.min(+lo.value, +hi.value), Math.max(+lo.value, +hi.value)]; }

  function paint() {
    var r = range();
    svg.querySelectorAll("g.bin").forEach(function (g) {
      var b = +g.dataset.bin;
      g.classList.toggle("on", b >= r[0] && b <= r[1]);
    });
    var from = fmt(r[0] / bins), to = fmt((r[1] + 1) / bins);
    $("range-text").textContent = from + " – " + to;
    lo.setAttribute("aria-valuetext", from);
    hi.setAttribute("aria-valuetext", to);
  }

  // The bin under a pointer, in the drawing's own coordinates (each bin is 20 units wide), whatever the scaling.
  function binAt(clientX, clientY) {
    var pt = svg.createSVGPoint();
    pt.x = clientX; pt.y = clientY;
    var b = Math.floor(pt.matrixTransform(svg.getScreenCTM().inverse()).x / 20);
    return Math.max(0, Math.min(bins - 1, b));
  }

  // Fetch the rows of the new range (the same page, only its selection part) and swap them in.
  function load() {
    var form = $("range-form"), params = new URLSearchParams(new FormData(form));
    var r = range();
    params.set("lo", r[0]); params.set("hi", r[1]);
    history.replaceState(null, "", form.action + "?" + params.toString());
    params.set("fragment", "1");
    var mine = loading = fetch(form.action + "?" + params.toString(), {credentials: "same-origin"})
      .then(function (res) { return res.text(); })
      .then(function (html) { if (loading === mine) { $("selection").innerHTML = html; confirmText(); } });
  }

  function count() {
    var boxes = document.querySelectorAll("#batch-rows input[name=include]");
    var n = 0;
    boxes.forEach(function (box) {
      if (box.checked) { n += 1; }
      box.closest(".batch-row").classList.toggle("excluded", !box.checked);
    });
    var el = $("n-selected");
    if (el) { el.textContent = n; }
    return n;
  }

  // What Enter would do, with the count: shown before anything can be applied.
  function confirmText() {
    var form = $("batch-form"), p = $("confirm");
    if (!form || !p) { return false; }
    var n = count(), choice = form.querySelector("input[name=action]:checked"), reason = $("reason");
    var ready = false, text;
    if (!n) { text = p.dataset.none; }
    else if (!choice) { text = p.dataset.choose; }
    else if (choice.value === "reject" && !reason.value) { text = p.dataset.reason; }
    else {
      var label = reason.options[reason.selectedIndex].text;
      text = p.dataset[choice.value].replace("{n}", n).replace("{reason}", label) + " " + p.dataset.enter;
      ready = true;
    }
    p.textContent = text;
    p.classList.toggle("ready", ready);
    form.classList.toggle("reject", !!choice && choice.value === "reject");
    $("apply").disabled = !ready;
    return ready;
  }

  // Once the confirmation shows the count, focus waits on the apply button: Enter applies.
  function settle(action) {
    if (confirmText()) { $("apply").focus(); }
    else if (action === "reject") { $("reason").focus(); }
  }

  function choose(action) {
    var radio = document.querySelector("#batch-form input[name=action][value=" + action + "]");
    if (radio) { radio.checked = true; settle(action); }
  }

  function typing(el) { return el && (el.tagName === "SELECT" || el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && el.type === "text")); }

  function setupHistogram() {
    svg = $("histogram"); lo = $("lo"); hi = $("hi");
    if (!svg) { return; }
    bins = +$("batch").dataset.bins;
    document.querySelectorAll(".noscript-only").forEach(function (el) { el.hidden = true; });
    var anchor = null;
    svg.addEventListener("pointerdown", function (e) {
      anchor = binAt(e.clientX, e.clientY);
      lo.value = hi.value = anchor;
      svg.setPointerCapture(e.pointerId);
      paint();
      e.preventDefault();
    });
    svg.addEventListener("pointermove", function (e) {
      if (anchor === null) { return; }
      var b = binAt(e.clientX, e.clientY);
      lo.value = Math.min(anchor, b); hi.value = Math.max(anchor, b);
      paint();
    });
    function end() { if (anchor !== null) { anchor = null; load(); } }
    svg.addEventListener("pointerup", end);
    svg.addEventListener("pointercancel", end);
    svg.addEventListener("keydown", function (e) {
      var step = {ArrowLeft: -1, ArrowRight: 1, ArrowDown: -1, ArrowUp: 1}[e.key];
      if (e.key === "Home" || e.key === "End") {
        lo.value = 0; hi.value = bins - 1;
      } else if (step === undefined) { return; }
      else {
        var r = range();
        if (e.shiftKey) { r[0] = Math.max(0, Math.min(r[1], r[0] + step)); }
        else { r[1] = Math.min(bins - 1, Math.max(r[0], r[1] + step)); }
        lo.value = r[0]; hi.value = r[1];
      }
      e.preventDefault();
      paint(); load();
    });
    [lo, hi].forEach(function (input) {
      input.addEventListener("input", paint);
      input.addEventListener("change", load);
    });
    ["measure"].forEach(function (id) { $(id).addEventListener("change", function () { $("range-form").submit(); }); });
    document.querySelector("#range-form select[name=queue]").addEventListener("change", function () { $("range-form").submit(); });
  }

  document.addEventListener("change", function (e) {
    if (!(e.target.closest && e.target.closest("#batch-form"))) { return; }
    if (e.target.name === "action" || e.target.name === "reason") {
      var choice = document.querySelector("#batch-form input[name=action]:checked");
      settle(choice && choice.value);
    } else { confirmText(); }
  });
  document.addEventListener("submit", function (e) {
    if (e.target.id === "batch-form" && !confirmText()) { e.preventDefault(); }
  });
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    var form = $("batch-form");
    if (e.key === "Enter" && form && !typing(e.target) && e.target.tagName !== "BUTTON" && e.target.tagName !== "A") {
      e.preventDefault();
      if (confirmText()) { form.requestSubmit(); }
      return;
    }
    if (typing(e.target)) { return; }
    if (form && ({a: "approve", r: "reject", h: "hold"})[e.key]) { choose({a: "approve", r: "reject", h: "hold"}[e.key]); }
    if (e.key === "u" && $("undo-form")) { $("undo-form").requestSubmit(); }
  });
  document.addEventListener("DOMContentLoaded", function () { setupHistogram(); confirmText(); });
})();
