// /supervisor/roster (the draft): a click on a cell of the roster picks it in the edit form (agent,
// day and its shift, which a lock sends as the shift shown), and a re-solve under way is followed
// (tasks.js) until the new draft is shown.
"use strict";

(() => {
  const form = document.getElementById("edit-form");
  if (form) {
    const agent = document.getElementById("edit-agent");
    const date = document.getElementById("edit-date");
    const shift = document.getElementById("edit-shift");
    const has = (select, value) => Array.from(select.options).some((o) => o.value === value);
    document.querySelectorAll("table.roster td[data-agent]").forEach((cell) => {
      if (!has(agent, cell.dataset.agent)) return; // not in agents.csv: not editable
      cell.classList.add("pickable");
      cell.addEventListener("click", () => {
        document.querySelectorAll("table.roster td.picked").forEach((c) => c.classList.remove("picked"));
        cell.classList.add("picked");
        agent.value = cell.dataset.agent;
        date.value = cell.dataset.date;
        shift.value = has(shift, cell.dataset.shift) ? cell.dataset.shift : "";
        shift.focus();
      });
    });
  }

  const box = document.getElementById("resolve-task");
  if (!box || !window.watchTask) return;
  const status = box.dataset.status;
  if (status !== "queued" && status !== "running") return;
  const bar = document.getElementById("resolve-progress");
  const message = document.getElementById("resolve-message");
  window.watchTask(
    box.dataset.task,
    (task) => {
      if (bar) bar.value = task.progress || 0;
      if (message) message.textContent = task.message || task.status;
    },
    () => {
      // done or failed: the page shows the new draft, or why nothing was stored
      window.location.assign(box.dataset.url);
    },
  );
})();
