// /supervisor/simulation/<id>: while the check runs, its progress (tasks.js polls the task; the
// page reloads when it ends); then the service level per interval of the queue chosen, with its
// 95% confidence band, against the target (Chart.js).
"use strict";

(() => {
  const root = document.getElementById("simulation");
  if (!root) return;
  const status = root.dataset.status;
  if (status === "queued" || status === "running") {
    const bar = document.getElementById("sim-progress");
    const message = document.getElementById("sim-message");
    if (!window.watchTask) {
      setTimeout(() => window.location.reload(), 2000);
      return;
    }
    window.watchTask(
      root.dataset.task,
      (task) => {
        if (bar) bar.value = task.progress || 0;
        if (message) message.textContent = task.message || "";
      },
      () => window.location.reload(),
    );
    return;
  }
  const data = document.getElementById("simulation-data");
  const canvas = document.getElementById("sim-chart");
  const select = document.getElementById("sim-queue");
  if (!data || !canvas || !window.Chart) return;
  const rows = JSON.parse(data.textContent);
  const percent = (value) => (value === null || value === undefined ? null : Math.round(1000 * value) / 10);
  let chart = null;

  function draw(queue) {
    const mine = rows.filter((r) => r.queue === queue);
    if (chart) chart.destroy();
    chart = new window.Chart(canvas, {
      data: {
        labels: mine.map((r) => r.at),
        datasets: [
          { type: "line", label: "low", data: mine.map((r) => percent(r.service_level_low)), borderColor: "rgba(0,0,0,0)", pointRadius: 0 },
          { type: "line", label: "95% confidence interval", data: mine.map((r) => percent(r.service_level_high)), borderColor: "rgba(0,0,0,0)", backgroundColor: "rgba(46,139,87,0.18)", fill: "-1", pointRadius: 0 },
          {
            type: "line",
            label: "simulated service level",
            data: mine.map((r) => percent(r.service_level)),
            borderColor: "#2e8b57",
            pointRadius: mine.map((r) => (r.miss ? 3 : 0)),
            pointBackgroundColor: "#c0392b",
            pointBorderColor: "#c0392b",
          },
          { type: "line", label: "target", data: mine.map((r) => percent(r.target)), borderColor: "#c0392b", borderDash: [6, 4], pointRadius: 0 },
        ],
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        spanGaps: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { title: { display: true, text: "day and time" }, ticks: { maxTicksLimit: 16 } },
          y: { min: 0, max: 100, title: { display: true, text: "% answered within the answer time" } },
        },
        plugins: { legend: { position: "bottom", labels: { filter: (item) => item.text !== "low" } } },
      },
    });
  }

  draw(select ? select.value : "total");
  if (select) select.addEventListener("change", () => draw(select.value));
})();
