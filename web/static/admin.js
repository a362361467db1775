// Rule editor: the textarea grows with its text so one container scrolls it together with the line numbers.
(function () {
  const area = document.querySelector(".editor textarea");
  const gutter = document.querySelector(".editor .gutter");
  if (!area || !gutter) return;
  function renumber() {
    const lines = area.value.split("\n").length;
    area.rows = lines + 2;
    const bad = new Set([...gutter.querySelectorAll("li.bad")].map((li) => li.textContent));
    if (gutter.children.length === lines) return;
    gutter.replaceChildren(...Array.from({ length: lines }, (_, i) => {
      const li = document.createElement("li");
      li.id = "L" + (i + 1);
      li.textContent = String(i + 1);
      if (bad.has(li.textContent)) li.className = "bad";
      return li;
    }));
  }
  area.addEventListener("input", renumber);
  document.body.addEventListener("htmx:afterSwap", () => {
    // Mark the lines the live check complains about.
    const lines = new Set([...document.querySelectorAll("#problems a")].map((a) => a.hash.slice(2)));
    gutter.querySelectorAll("li").forEach((li) => li.classList.toggle("bad", lines.has(li.textContent)));
  });
  renumber();
})();
