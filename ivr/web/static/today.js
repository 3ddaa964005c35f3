// The dashboard's "Today": calls so far against the day-ahead forecast and today's reforecast
// (with its band) and the service level against target, drawn with Chart.js (served from
// static/vendor); the rest of the day's agents needed, on line and rostered; callers waiting and
// callbacks pending. Refreshed with the cards.
"use strict";

(() => {
  const section = document.getElementById("today");
  if (!section) return;
  const select = document.getElementById("today-queue");
  const target = parseFloat(section.dataset.target);
  let body = null;
  let chart = null;

  const hhmm = (iso) => iso.slice(11, 16);

  function row(cells) {
    const tr = document.createElement("tr");
    for (const c of cells) {
      const td = document.createElement("td");
      td.textContent = c === null || c === undefined ? "–" : c;
      tr.append(td);
    }
    return tr;
  }

  function draw() {
    if (!body || !window.Chart) return;
    const queue = select.value;
    const rows = body.today.filter((r) => r.queue === queue);
    const labels = rows.map((r) => hhmm(r.interval_start));
    const pick = (key) => rows.map((r) => (r[key] === null ? null : r[key]));
    const datasets = [
      { type: "bar", label: "calls so far", data: pick("actual"), backgroundColor: "#7aa6d6", yAxisID: "calls", order: 3 },
      { type: "line", label: "day-ahead forecast", data: pick("day_ahead"), borderColor: "#8a8f98", borderDash: [5, 4], pointRadius: 0, yAxisID: "calls", order: 2 },
      { type: "line", label: "reforecast p10", data: pick("reforecast_p10"), borderColor: "rgba(230,126,34,0)", pointRadius: 0, yAxisID: "calls", order: 1 },
      { type: "line", label: "reforecast p90", data: pick("reforecast_p90"), borderColor: "rgba(230,126,34,0)", backgroundColor: "rgba(230,126,34,0.18)", fill: "-1", pointRadius: 0, yAxisID: "calls", order: 1 },
      { type: "line", label: "reforecast", data: pick("reforecast"), borderColor: "#e67e22", pointRadius: 0, yAxisID: "calls", order: 0 },
      { type: "line", label: "service level", data: rows.map((r) => (r.service_level === null ? null : r.service_level * 100)), borderColor: "#2e8b57", pointRadius: 2, spanGaps: false, yAxisID: "sl", order: 0 },
      { type: "line", label: "target", data: rows.map(() => target * 100), borderColor: "#c0392b", borderDash: [2, 3], pointRadius: 0, yAxisID: "sl", order: 0 },
    ];
    const options = {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      scales: {
        x: { title: { display: true, text: "time of day" } },
        calls: { position: "left", beginAtZero: true, title: { display: true, text: "calls per half hour" } },
        sl: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false }, title: { display: true, text: "service level %" } },
      },
      plugins: {
        legend: { position: "bottom", labels: { filter: (item) => !item.text.startsWith("reforecast p") } },
        tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${ctx.parsed.y === null ? "–" : Math.round(ctx.parsed.y * 10) / 10}` } },
      },
    };
    if (chart) {
      chart.data.labels = labels;
      chart.data.datasets = datasets;
      chart.update();
    } else {
      chart = new window.Chart(document.getElementById("today-chart"), { data: { labels, datasets }, options });
      section.chart = chart;  // for the page's tests
    }
  }

  function strip() {
    const queue = select.value;
    const rows = body.intervals.filter((r) => r.queue === queue);
    document.querySelector("#strip tbody").replaceChildren(
      ...rows.map((r) => {
        const tr = row([hhmm(r.interval_start), r.calls, r.required, r.on_line, r.short_on_line || "", r.scheduled, r.rostered, r.short_rostered || ""]);
        if (r.short_on_line > 0) tr.classList.add("short");
        return tr;
      }),
    );
    const words = [...body.shortages, ...body.shortages_rostered.map((s) => `rostered: ${s}`)];
    document.getElementById("shortages").replaceChildren(
      ...(words.length ? words : [body.forecast ? "No shortage for the rest of the day." : "No stored forecast covers today."]).map((w) => {
        const li = document.createElement("li");
        li.textContent = w;
        return li;
      }),
    );
    document.querySelector("#waiting tbody").replaceChildren(
      ...body.waiting.map((w) => row([w.queue, w.language, `${w.waited_s} s`, w.callback ? "yes" : "", w.offered_to])),
    );
    document.querySelector("#callbacks tbody").replaceChildren(
      ...body.callbacks_pending.map((c) => row([c.queue, c.language, hhmm(c.due_at), c.attempts])),
    );
  }

  function alerts() {
    const box = document.getElementById("alerts");
    box.hidden = body.alerts.length === 0;
    box.querySelector("ul").replaceChildren(
      ...body.alerts.map((a) => {
        const li = document.createElement("li");
        li.textContent = `${hhmm(a.raised_at)} ${a.message}`;
        return li;
      }),
    );
  }

  async function refresh() {
    try {
      const response = await fetch(section.dataset.api, { credentials: "same-origin" });
      if (!response.ok) return;
      body = await response.json();
      draw();
      strip();
      alerts();
    } catch (err) { /* next time */ }
  }

  select.addEventListener("change", () => { draw(); strip(); });
  refresh();
  setInterval(refresh, 30000);
})();
