// /supervisor/plan: agents required against planned cover per interval of the week (Chart.js),
// for all queues or one, with the scenarios ticked in the table drawn over the stored plan; and
// the what-ifs running, watched until they end (tasks.js), then the page reloaded to show them.
"use strict";

(() => {
  const source = document.getElementById("plan-data");
  const canvas = document.getElementById("plan-chart");
  const select = document.getElementById("plan-queue");
  const note = document.getElementById("queue-note");
  const PALETTE = ["#8e44ad", "#16a085", "#d68910", "#7f8c8d", "#2c3e50", "#e84393"];
  let chart = null;

  function watchRunning() {
    if (!window.watchTask) return;
    for (const line of document.querySelectorAll("#what-if-tasks [data-task]")) {
      const bar = line.querySelector("progress");
      const message = line.querySelector(".task-message");
      window.watchTask(
        line.dataset.task,
        (task) => {
          bar.value = task.progress || 0;
          message.textContent = task.message || task.status;
        },
        () => window.location.reload(),
      );
    }
  }

  if (!source || !canvas) {
    watchRunning();
    return;
  }
  const data = JSON.parse(source.textContent);
  const sameLength = (values) => Array.isArray(values) && values.length === data.labels.length;
  const scenarios = data.scenarios.filter((s) => sameLength(s.cover));

  // intervals where anything is required or planned, in the stored plan or any scenario: the
  // nights and closed days are left out, and the axis stays the same whatever is ticked
  const series = [data.baseline.cover, ...Object.values(data.baseline.required)];
  for (const s of scenarios) series.push(s.cover, ...Object.values(s.required));
  const shown = data.labels.map((_l, i) => i).filter((i) => series.some((v) => sameLength(v) && v[i] > 0));
  const pick = (values) => (sameLength(values) ? shown.map((i) => values[i]) : null);

  function ticked() {
    const ids = new Set([...document.querySelectorAll("#scenario-table input.overlay:checked")].map((c) => Number(c.value)));
    return scenarios.filter((s) => ids.has(s.id));
  }

  function datasets() {
    const queue = select.value;
    const total = queue === "total";
    const out = [];
    const required = pick(data.baseline.required[queue]);
    if (required) {
      // an area, under the lines: where the cover falls below it, the shortage shows
      out.push({ label: total ? "required" : `required: ${select.selectedOptions[0].text}`, data: required, borderColor: "#c0392b", backgroundColor: "rgba(192,57,43,0.14)", fill: "origin", order: 2 });
    }
    if (total) {
      out.push({ label: "planned cover", data: pick(data.baseline.cover), borderColor: "#2f6fb3", borderWidth: 2, order: 1 });
    }
    ticked().forEach((s, n) => {
      const colour = PALETTE[n % PALETTE.length];
      const theirs = pick(s.required[queue]);
      if (theirs) out.push({ label: `required: ${s.label}`, data: theirs, borderColor: colour, borderDash: [2, 3] });
      if (total) out.push({ label: `planned cover: ${s.label}`, data: pick(s.cover), borderColor: colour, borderDash: [6, 4] });
    });
    return out.map((d) => ({ type: "line", stepped: true, pointRadius: 0, borderWidth: 1.6, order: 0, ...d }));
  }

  function draw() {
    note.hidden = select.value === "total";
    if (!window.Chart) return;
    if (chart) {
      chart.data.datasets = datasets();
      chart.update();
      return;
    }
    chart = new window.Chart(canvas, {
      data: { labels: shown.map((i) => data.labels[i]), datasets: datasets() },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { title: { display: true, text: "day and time (line time)" }, ticks: { maxTicksLimit: 14 } },
          y: { beginAtZero: true, title: { display: true, text: "agents scheduled" }, ticks: { precision: 0 } },
        },
        plugins: {
          legend: { position: "bottom" },
          tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${ctx.parsed.y === null ? "–" : ctx.parsed.y} agents` } },
        },
      },
    });
  }

  select.addEventListener("change", draw);
  for (const box of document.querySelectorAll("#scenario-table input.overlay")) box.addEventListener("change", draw);
  draw();
  watchRunning();
})();
