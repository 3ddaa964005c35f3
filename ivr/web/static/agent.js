// The agent desktop: state buttons, the softphone (Twilio Voice JS SDK's Device), the screen pop
// from /agent/desk.json (polled), the disposition of each call, the agent's requests.
"use strict";

(() => {
  const body = document.body;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  let desk = null;
  let device = null;
  let activeCall = null;
  let lastCallSid = null;
  let shownRequests = null;

  async function send(method, url, payload, message = $("message")) {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      message.textContent = answer.error || `${response.status} ${response.statusText}`;
      return null;
    }
    message.textContent = "";
    return answer;
  }

  function show(el, on) { el.hidden = !on; }

  function fillSelect(select, values) {
    if (select.options.length === values.length) return;
    select.replaceChildren(...values.map((v) => new Option(v.replace("_", " "), v)));
  }

  function seconds(s) {
    if (s === null || s === undefined) return "–";
    const m = Math.floor(s / 60);
    return m ? `${m} min ${Math.round(s % 60)} s` : `${Math.round(s)} s`;
  }

  function row(cells) {
    const tr = document.createElement("tr");
    for (const c of cells) {
      const td = document.createElement("td");
      td.textContent = c === null || c === undefined ? "" : c;
      tr.append(td);
    }
    return tr;
  }

  function render(d) {
    desk = d;
    $("state").textContent = d.state.replace("_", " ");
    $("state").dataset.state = d.state;
    $("reason-shown").textContent = d.state === "not_ready" && d.reason ? `(${d.reason})` : "";
    $("since").textContent = d.since ? `since ${d.since.slice(11, 16)}` : "";
    const onLine = d.state !== "offline";
    show($("online"), !onLine || d.channel !== "browser");
    show($("offline"), onLine && d.channel === "browser");
    show($("ready"), d.state === "not_ready");
    show($("end-wrap-up"), d.state === "wrap_up");
    show($("not-ready"), ["available", "wrap_up"].includes(d.state));
    fillSelect($("reason"), d.reasons);
    fillSelect($("code"), d.dispositions);
    wrapUp(d);

    const call = d.call;
    show($("call"), Boolean(call));
    if (call) {
      for (const dd of $("call").querySelectorAll("[data-call]")) {
        let v = call[dd.dataset.call];
        if (typeof v === "boolean") v = v ? "yes" : "no";
        dd.textContent = v === null || v === undefined ? "–" : `${v}${dd.dataset.unit || ""}`;
      }
      $("history").tBodies[0].replaceChildren(
        ...call.history.map((h) => row([h.at, h.queue, h.result, h.disposition])),
      );
      if (call.call_sid !== lastCallSid) {
        lastCallSid = call.call_sid;
        $("note").value = "";
        $("saved").textContent = "";
      }
    }
    $("answered").textContent = d.today.answered;
    $("aht").textContent = seconds(d.today.aht_s);
    $("state-times").tBodies[0].replaceChildren(
      ...Object.entries(d.today.seconds_by_state).map(([s, t]) => row([s.replace("_", " "), seconds(t)])),
    );
    $("calendar-url").textContent = d.calendar_url;
    $("calendar-url").href = d.calendar_url;
    $("roster").querySelector("tbody").replaceChildren(
      ...d.roster.map((r) => row([r.date, r.start, r.end, r.break])),
    );
    renderRequests(d.requests);
  }

  // -- requests: time off and preferences

  function renderRequests(requests) {
    const key = JSON.stringify(requests);
    if (key === shownRequests) return;  // polled every 2 s: keep the rows (and their buttons)
    shownRequests = key;
    $("request-list").tBodies[0].replaceChildren(...requests.map((r) => {
      const tr = row([r.what, r.note, r.status, r.decision_note]);
      tr.id = `request-${r.id}`;
      tr.dataset.status = r.status;
      const cell = document.createElement("td");
      if (r.status === "pending") {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = "Withdraw";
        button.addEventListener("click", async () => {
          const d = await send("POST", `/agent/requests/${r.id}/withdraw`, undefined, $("request-message"));
          if (d) renderRequests(d.requests);
        });
        cell.append(button);
      }
      tr.append(cell);
      return tr;
    }));
  }

  function requestFields() {
    const kind = $("request-kind").value;
    show($("request-end-field"), kind === "time_off");
    show($("request-shift-field"), kind === "prefer_shift");
  }

  let wrapTimer = null;
  function wrapUp(d) {
    const on = d.state === "wrap_up" && d.wrap_up_left_s !== null;
    show($("wrap-up-left"), on);
    clearInterval(wrapTimer);
    if (!on) return;
    const end = Date.now() + d.wrap_up_left_s * 1000;  // the server's clock says how long
    const tick = () => {
      const left = Math.max(0, Math.round((end - Date.now()) / 1000));
      $("wrap-up-count").textContent = left;
      if (left === 0) {
        clearInterval(wrapTimer);
        setState("available");
      }
    };
    tick();
    wrapTimer = setInterval(tick, 1000);
  }

  async function refresh() {
    const response = await fetch("/agent/desk.json", { credentials: "same-origin" });
    if (response.ok) render(await response.json());
  }

  async function setState(state, reason) {
    const d = await send("POST", "/agent/state", reason ? { state, reason } : { state });
    if (d) render(d);
  }

  // -- the softphone

  function phoneStatus(text) { $("phone-status").textContent = text; }

  async function freshToken() {
    const response = await fetch("/agent/token", { credentials: "same-origin" });
    if (!response.ok) throw new Error((await response.json()).error || response.statusText);
    return (await response.json()).token;
  }

  function callUi() {
    const ringing = activeCall && activeCall.__state === "ringing";
    const talking = activeCall && activeCall.__state === "open";
    show($("incoming"), Boolean(ringing));
    show($("in-call"), Boolean(talking));
    if (talking) $("mute").textContent = activeCall.isMuted() ? "Unmute" : "Mute";
  }

  function incoming(call) {
    activeCall = call;
    call.__state = "ringing";
    const p = call.customParameters || new Map();
    $("incoming-what").textContent = [p.get("queue"), p.get("language")].filter(Boolean).join(" · ");
    const done = () => { activeCall = null; callUi(); refresh(); };
    call.on("accept", () => { call.__state = "open"; callUi(); refresh(); });
    call.on("disconnect", done);
    call.on("cancel", done);
    call.on("reject", done);
    call.on("mute", callUi);
    callUi();
    refresh();
  }

  async function startPhone() {
    if (!body.dataset.softphone) return;
    if (!window.Twilio || !window.Twilio.Device) {
      phoneStatus("the softphone library did not load (make assets)");
      return;
    }
    try {
      device = new window.Twilio.Device(await freshToken(), { closeProtection: true });
      device.on("registered", () => phoneStatus("ready for calls"));
      device.on("unregistered", () => phoneStatus("not registered"));
      device.on("error", (e) => phoneStatus(`error: ${e.message || e}`));
      device.on("incoming", incoming);
      device.on("tokenWillExpire", async () => device.updateToken(await freshToken()));
      await device.register();
    } catch (e) {
      phoneStatus(`not started: ${e.message || e}`);
    }
  }

  // -- buttons

  $("online").addEventListener("click", async () => {
    const d = await send("POST", "/agent/session");
    if (d) render(d);
  });
  $("offline").addEventListener("click", async () => {
    const d = await send("POST", "/agent/session/end");
    if (d) render(d);
  });
  $("ready").addEventListener("click", () => setState("available"));
  $("end-wrap-up").addEventListener("click", () => setState("available"));
  $("not-ready").addEventListener("click", () => setState("not_ready", $("reason").value));
  $("accept").addEventListener("click", () => activeCall && activeCall.accept());
  $("reject").addEventListener("click", () => activeCall && activeCall.reject());
  $("mute").addEventListener("click", () => activeCall && activeCall.mute(!activeCall.isMuted()));
  $("hangup").addEventListener("click", () => activeCall && activeCall.disconnect());
  $("disposition").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!desk || !desk.call) return;
    const saved = await send("POST", "/agent/disposition", {
      call_sid: desk.call.call_sid, code: $("code").value, note: $("note").value,
    });
    if (saved) $("saved").textContent = `saved: ${saved.disposition.replace("_", " ")}`;
  });

  $("request-kind").addEventListener("change", requestFields);
  $("request-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const kind = $("request-kind").value;
    const payload = { kind, date: $("request-date").value, note: $("request-note").value };
    if (kind === "time_off") payload.end_date = $("request-end").value;
    if (kind === "prefer_shift") payload.shift_start = $("request-shift").value;
    const d = await send("POST", "/agent/requests", payload, $("request-message"));
    if (d) {
      $("request-form").reset();
      requestFields();
      $("request-message").textContent = "";
      renderRequests(d.requests);
    }
  });

  requestFields();
  refresh();
  setInterval(refresh, 2000);
  startPhone();
})();
