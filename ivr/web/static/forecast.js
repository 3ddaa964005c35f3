// /supervisor/forecast: the total forecast per interval with its p10-p90 band (Chart.js).
"use strict";

(() => {
  const data = JSON.parse(document.getElementById("forecast-data").textContent);
  const canvas = document.getElementById("forecast-chart");
  if (!window.Chart || !canvas) return;
  new window.Chart(canvas, {
    data: {
      labels: data.map((r) => r.at),
      datasets: [
        { type: "line", label: "p10", data: data.map((r) => r.p10), borderColor: "rgba(0,0,0,0)", pointRadius: 0 },
        { type: "line", label: "p10–p90", data: data.map((r) => r.p90), borderColor: "rgba(0,0,0,0)", backgroundColor: "rgba(52,120,190,0.18)", fill: "-1", pointRadius: 0 },
        { type: "line", label: "forecast calls", data: data.map((r) => r.calls), borderColor: "#3478be", pointRadius: 0 },
      ],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      scales: {
        x: { title: { display: true, text: "day and time" }, ticks: { maxTicksLimit: 16 } },
        y: { beginAtZero: true, title: { display: true, text: "calls per interval, all queues" } },
      },
      plugins: { legend: { position: "bottom", labels: { filter: (item) => item.text !== "p10" } } },
    },
  });
})();
