// asl view: adds a filter box to the entry table and the event table (the
// page works without it). The filter is kept in the URL's query
// (?filter-<section>=text), so a filtered view is a link. A long table comes
// in groups of 1,000 rows (<details>); filtering hides the groups without a
// match and opens the first few that have one.
"use strict";
(function () {
  const OPEN_GROUPS = 3;
  const params = new URLSearchParams(location.search);
  document.querySelectorAll("section[id]").forEach((section) => {
    const tables = Array.from(section.querySelectorAll(":scope table.filterable"));
    if (!tables.length) return;
    const key = "filter-" + section.id;
    const groups = tables.map((table) => {
      const rows = Array.from(table.tBodies[0].rows);
      return { table, details: table.closest("details.chunk"), rows, texts: rows.map((r) => r.textContent.toLowerCase()) };
    });
    const total = groups.reduce((n, g) => n + g.rows.length, 0);
    const wasOpen = groups.map((g) => g.details && g.details.open);
    const box = document.createElement("div");
    box.className = "filter";
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "search";
    input.id = key;
    label.htmlFor = key;
    label.textContent = "Filter " + section.querySelector("h2").textContent.toLowerCase() + " ";
    const status = document.createElement("span");
    status.setAttribute("role", "status");
    status.className = "hint";
    box.append(label, input, " ", status);
    section.querySelector("h2").after(box);
    let timer = 0;
    const apply = () => {
      const q = input.value.trim().toLowerCase();
      let shown = 0;
      let opened = 0;
      groups.forEach((g, gi) => {
        let hits = 0;
        g.rows.forEach((r, i) => {
          const hit = !q || g.texts[i].includes(q);
          if (r.hidden === hit) r.hidden = !hit;
          if (hit) hits += 1;
        });
        shown += hits;
        if (g.details) {
          g.details.hidden = q !== "" && hits === 0;
          const open = q ? hits > 0 && opened < OPEN_GROUPS : wasOpen[gi];
          if (open && q) opened += 1;
          if (g.details.open !== open) g.details.open = open;
        }
      });
      status.textContent = q ? `${shown} of ${total} rows match` : "";
      const url = new URL(location.href);
      if (q) url.searchParams.set(key, input.value); else url.searchParams.delete(key);
      history.replaceState(null, "", url);
    };
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(apply, 150); });
    const initial = params.get(key);
    if (initial) { input.value = initial; apply(); }
  });
})();
