// Live queue cards: refresh the figures every 5 s and today's chart every 30 s, without reloading.
"use strict";
(function () {
  const cards = document.getElementById("cards");
  if (!cards) return;
  const SVG = "http://www.w3.org/2000/svg";

  function show(dd, value) {
    const unit = dd.dataset.unit;
    if (value === null || value === undefined) { dd.textContent = "–"; return; }
    if (unit === "%") dd.textContent = (value * 100).toFixed(1) + " %";
    else if (unit === "s") dd.textContent = Math.round(value) + " s";
    else dd.textContent = String(value);
  }

  async function refresh() {
    try {
      const response = await fetch(cards.dataset.api, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const body = await response.json();
      document.getElementById("as-of").textContent = "as of " + body.as_of.slice(11, 19);
      for (const q of body.queues) {
        const card = document.getElementById("card-" + q.queue);
        if (!card) continue;
        card.querySelectorAll("[data-field]").forEach((dd) => show(dd, q[dd.dataset.field]));
        const sl = card.querySelector('[data-field="service_level"]');
        sl.classList.toggle("bad", q.service_level !== null && q.service_level < q.service_level_target);
        sl.classList.toggle("good", q.service_level !== null && q.service_level >= q.service_level_target);
      }
    } catch (err) { /* the next refresh tries again */ }
  }

  function draw(svg, intervals, target) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const w = 480, h = 120, n = Math.max(intervals.length, 1), bw = w / n;
    const peak = Math.max(1, ...intervals.map((i) => i.offered));
    const add = (tag, attrs) => { const el = document.createElementNS(SVG, tag); for (const k in attrs) el.setAttribute(k, attrs[k]); svg.appendChild(el); return el; };
    intervals.forEach((it, i) => {
      const ho = (it.offered / peak) * (h - 10), ha = (it.answered / peak) * (h - 10);
      add("rect", { x: i * bw + 0.5, y: h - ho, width: Math.max(bw - 1, 1), height: ho, fill: "#b8c9dd" });
      add("rect", { x: i * bw + 0.5, y: h - ha, width: Math.max(bw - 1, 1), height: ha, fill: "#2f6fb3" });
    });
    const ty = h - target * (h - 10);
    add("line", { x1: 0, x2: w, y1: ty, y2: ty, stroke: "#c0392b", "stroke-dasharray": "4 3" });
    const points = intervals.map((it, i) => it.service_level === null ? null : [i * bw + bw / 2, h - it.service_level * (h - 10)]).filter(Boolean);
    if (points.length) add("polyline", { points: points.map((p) => p.join(",")).join(" "), fill: "none", stroke: "#2e8b57", "stroke-width": 2 });
  }

  async function charts() {
    for (const card of cards.querySelectorAll(".card")) {
      try {
        const response = await fetch(card.dataset.intervals + "?freq=30min", { credentials: "same-origin" });
        if (!response.ok) continue;
        const body = await response.json();
        const targetText = card.querySelector("dd:not([data-field])").textContent;
        draw(card.querySelector("svg"), body.intervals, parseFloat(targetText) / 100);
      } catch (err) { /* next time */ }
    }
  }

  refresh(); charts();
  setInterval(refresh, 5000);
  setInterval(charts, 30000);
})();
