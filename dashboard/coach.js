/* SPDX-License-Identifier: MIT */
/* The coach view: every station of every hub on the broker (tiles with live state, countdown
 * and force trace), an attention list, equipment, commands, and sessions as they arrive. */
"use strict";

(function () {
  var el = TP.el;
  var hubs = {};       /* name -> {status, online} */
  var stations = {};   /* "hub/station" -> station view */
  var tools = {};      /* "hub/address" -> {hub, address, doc} */
  var sessions = new Map(); /* id -> session document: duplicates (at-least-once) dropped by id */
  var lastSessions = {}; /* "hub/station" -> last_session summary (retained) */
  var transient = {};  /* attention items that come from events: key -> {until, item} */
  var pending = {};    /* command id -> station key */
  var announced = {};  /* attention keys already beeped */
  var LOW_BATTERY_PCT = 20, LOW_BATTERY_MV = 3500;

  var tilesEl = document.getElementById("tiles");

  /* ---- tiles ---- */

  function station(hub, name) {
    var key = hub + "/" + name;
    if (stations[key]) return stations[key];
    var s = { key: key, hub: hub, name: name, state: null, deadline: null, trace: new TP.ForceTrace(20),
              peak: null, holdSum: 0, holdN: 0, holdMean: null, e: {} };
    var e = s.e;
    e.tile = el("article", { class: "tile", "data-hub": hub, "data-station": name, "data-led": "off" }, [
      el("div", { class: "top" }, [
        e.name = el("span", { class: "name", text: name }),
        e.hub = el("span", { class: "badge hub", text: hub }),
      ]),
      e.who = el("div", { class: "who", text: "waiting for an athlete" }),
      el("div", { class: "cuerow" }, [
        e.cue = el("span", { class: "cue", text: "…" }),
        e.countdown = el("span", { class: "countdown", "data-ms": "" }),
      ]),
      e.point = el("div", { class: "point" }),
      e.warnings = el("div", { class: "warnings", role: "alert" }),
      e.plot = el("div", { class: "plot", "data-samples": "0" }),
      e.forces = el("div", { class: "forces" }),
      e.controls = el("form", { class: "controls" }, [
        e.athlete = el("input", { name: "athlete", placeholder: "athlete id", autocomplete: "off" }),
        e.protocol = el("select", { name: "protocol" }, [el("option", { value: "", text: "default protocol" })]),
        el("button", { type: "submit", "data-cmd": "start", text: "Start" }),
        el("button", { type: "button", "data-cmd": "skip", text: "Skip", onclick: function () { command(s, { cmd: "skip" }); } }),
        el("button", { type: "button", "data-cmd": "stop", text: "Stop", onclick: function () { command(s, { cmd: "stop" }); } }),
        el("button", { type: "button", "data-cmd": "tare", text: "Tare", onclick: function () { command(s, { cmd: "tare" }); } }),
      ]),
      e.reply = el("div", { class: "reply", "aria-live": "polite" }),
      e.last = el("div", { class: "last" }),
      el("div", { class: "links" }, [
        el("a", { href: TP.stationUrl(hub, name), target: "_blank", text: "athlete view" }), " · ",
        el("a", { href: "#", text: "QR code", onclick: function (ev) {
          ev.preventDefault();
          if (e.qr.hasChildNodes()) e.qr.replaceChildren();
          else e.qr.innerHTML = TP.qrSvg(TP.stationUrl(hub, name));
        } }),
        e.qr = el("div", { class: "qr-slot" }),
      ]),
    ]);
    e.controls.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var c = { cmd: "start" };
      if (e.athlete.value.trim()) c.athlete = e.athlete.value.trim();
      if (e.protocol.value) c.protocol = e.protocol.value;
      command(s, c);
    });
    stations[key] = s;
    /* tiles in name order, whatever order the retained messages came in */
    var keys = Object.keys(stations).sort();
    var next = stations[keys[keys.indexOf(key) + 1]];
    tilesEl.insertBefore(e.tile, next ? next.e.tile : null);
    s.plot = TP.forcePlot(e.plot, s.trace, function () { return s.state; });
    fillProtocols(s);
    renderHubBadge(s);
    return s;
  }

  function fillProtocols(s) {
    var h = hubs[s.hub], list = (h && h.status && h.status.protocols) || [];
    var sel = s.e.protocol, keep = sel.value;
    sel.replaceChildren(el("option", { value: "", text: "default protocol" }));
    list.forEach(function (p) {
      sel.appendChild(el("option", { value: p.name, text: p.title ? p.name + ": " + p.title : p.name }));
    });
    sel.value = keep;
  }

  function renderHubBadge(s) {
    var h = hubs[s.hub], online = h ? h.online : null;
    s.e.hub.textContent = s.hub + (online === false ? " offline" : online ? " online" : "");
    s.e.hub.classList.toggle("offline", online === false);
    s.e.tile.dataset.online = online === false ? "false" : "true";
  }

  function renderState(s) {
    var st = s.state, e = s.e, cue = TP.CUE[st.state] || { word: st.state, led: "off" };
    e.tile.dataset.state = st.state;
    e.tile.dataset.led = cue.led;
    e.cue.textContent = cue.word;
    var who = [];
    if (st.session_id) who.push(st.athlete || "anonymous");
    if (st.protocol) who.push(st.protocol);
    e.who.textContent = who.length ? who.join(" · ") : "waiting for an athlete";
    var pt = [];
    if (st.step !== null && st.step !== undefined)
      pt.push("step " + (st.step + 1) + "/" + (st.steps_total || stepsOf(s.hub, st.protocol) || "?"));
    if (st.label) pt.push(st.label);
    if (st.side) pt.push("(" + st.side + ")");
    if (st.rep) pt.push("rep " + st.rep);
    if (st.state === "release" && st.release_reason && st.release_reason !== "done") pt.push("[" + st.release_reason.replace("_", " ") + "]");
    e.point.textContent = pt.join(" ");
    e.warnings.replaceChildren.apply(e.warnings, (st.warnings || []).map(function (w) {
      return el("span", { "data-warning": w, text: "⚠ " + (TP.WARN[w] || w) });
    }));
    if (!st.tool_connected && st.session_id && (st.warnings || []).indexOf("tool_lost") < 0)
      e.warnings.appendChild(el("span", { "data-warning": "no_tool", text: "no tool" }));
  }

  function stepsOf(hub, protocol) {
    var h = hubs[hub], list = (h && h.status && h.status.protocols) || [];
    for (var i = 0; i < list.length; i++) if (list[i].name === protocol) return list[i].steps;
    return null;
  }

  function renderForces(s) {
    var cur = s.trace.current();
    function n(v) { return v === null || v === undefined ? "–" : v.toFixed(1) + " N"; }
    s.e.forces.replaceChildren(
      el("span", {}, ["now ", el("b", { class: "f-now", text: n(cur) })]),
      el("span", {}, ["peak ", el("b", { class: "f-peak", text: n(s.peak) })]),
      el("span", {}, ["hold mean ", el("b", { class: "f-mean", text: n(s.holdMean) })]),
      el("span", { class: "flag", text: s.trace.drops ? s.trace.drops + " batches lost" : "" }));
    s.e.plot.dataset.samples = String(s.trace.samples);
  }

  function renderLast(s) {
    var l = lastSessions[s.key];
    if (!l) return;
    var reps = Object.keys(l.reps || {}).map(function (k) { return l.reps[k] + " " + k; }).join(", ");
    s.e.last.textContent = "last session: " + (l.athlete || "anonymous") + ", " + l.protocol + ", " + l.status +
      ", " + (l.points || 0) + " points" + (reps ? " (" + reps + ")" : "") + (l.ended_at ? ", ended " + new Date(l.ended_at).toLocaleTimeString() : "");
  }

  /* ---- commands ---- */

  function command(s, c) {
    c.id = TP.requestId();
    pending[c.id] = s.key;
    s.e.reply.className = "reply";
    s.e.reply.textContent = c.cmd + ": sent…";
    conn.publish(s.hub + "/" + s.name + "/cmd", c);
  }

  function onReply(s, r) {
    if (r.id && pending[r.id] !== s.key) return; /* someone else's command */
    delete pending[r.id];
    s.e.reply.className = "reply" + (r.ok ? "" : " err");
    s.e.reply.textContent = r.ok ? "ok" : "error: " + r.error;
    s.e.reply.dataset.ok = String(!!r.ok);
  }

  /* ---- messages ---- */

  function onMessage(t, doc, retained) {
    if (t.kind === "status") return onStatus(t.hub, doc);
    if (t.kind === "tool") {
      tools[t.hub + "/" + t.address] = { hub: t.hub, address: t.address, doc: doc };
      renderTools();
      return renderAttention();
    }
    if (!t.station) return;
    var s;
    switch (t.kind) {
    case "state":
      s = station(t.hub, t.station);
      var was = s.state ? s.state.state : null;
      if (doc.state === "hold" && was !== "hold") { s.holdSum = 0; s.holdN = 0; }
      s.state = doc;
      s.deadline = TP.deadline(t.hub, doc);
      renderState(s);
      renderAttention();
      break;
    case "force":
      s = station(t.hub, t.station);
      s.trace.add(t.hub, doc);
      (doc.force_n || []).forEach(function (f) {
        if (s.state && s.state.session_id) s.peak = s.peak === null ? f : Math.max(s.peak, f);
        if (s.state && s.state.state === "hold") { s.holdSum += f; s.holdN++; s.holdMean = s.holdSum / s.holdN; }
      });
      break;
    case "event":
      s = station(t.hub, t.station);
      onEvent(s, doc);
      break;
    case "session":
      onSession(t, doc);
      break;
    case "last_session":
      station(t.hub, t.station);
      lastSessions[t.hub + "/" + t.station] = doc;
      renderLast(stations[t.hub + "/" + t.station]);
      break;
    case "reply":
      onReply(station(t.hub, t.station), doc);
      break;
    }
  }

  function onStatus(hub, doc) {
    var h = hubs[hub] || (hubs[hub] = {});
    h.status = doc;
    h.online = doc.state === "online";
    h.seen = Date.now();
    (doc.stations || []).forEach(function (n) { station(hub, n); });
    Object.keys(stations).forEach(function (k) {
      if (stations[k].hub === hub) { renderHubBadge(stations[k]); fillProtocols(stations[k]); }
    });
    renderHubs();
    renderAttention();
  }

  function onEvent(s, ev) {
    var at = ev.at ? TP.hubToLocal(s.hub, ev.at) / 1000 : Date.now() / 1000;
    if (ev.type === "press") { s.trace.markers.push({ t: at, kind: "contact" }); s.peak = ev.value; }
    if (ev.type === "released") s.trace.markers.push({ t: at, kind: "release" });
    if (ev.type === "step" || ev.type === "checkin") { s.peak = null; s.holdMean = null; }
    var hold = 60 * 1000;
    if (ev.type === "not_released")
      transient[s.key + "/not_released"] = { until: Date.now() + hold, item: { level: 2, rank: 4, kind: "not_released", station: s.key, text: s.key + ": not released at " + (ev.label || "the point") } };
    if (ev.type === "session_end" && ev.status === "abandoned")
      transient[s.key + "/abandoned"] = { until: Date.now() + 5 * hold, item: { level: 2, rank: 5, kind: "abandoned", station: s.key, text: s.key + ": session abandoned" } };
    renderAttention();
  }

  /* ---- attention ---- */

  function attentionItems() {
    var items = [];
    Object.keys(stations).forEach(function (k) {
      var s = stations[k], st = s.state;
      if (!st) return;
      var w = st.warnings || [];
      if (w.indexOf("over_force") >= 0) items.push({ level: 1, rank: 1, kind: "over_force", station: k, flash: true, text: "⚠ " + k + ": OVER FORCE" + (st.safety_max_n ? " (> " + st.safety_max_n + " N)" : "") });
      if (w.indexOf("over_hold") >= 0) items.push({ level: 1, rank: 2, kind: "over_hold", station: k, flash: true, text: "⚠ " + k + ": held too long" });
      if (w.indexOf("tool_lost") >= 0 || st.state === "paused") items.push({ level: 1, rank: 3, kind: "tool_lost", station: k, flash: true, text: "⚠ " + k + ": tool lost, session paused" });
      if (st.state === "release" && st.release_reason === "not_released") items.push({ level: 2, rank: 4, kind: "not_released", station: k, text: k + ": not released" });
    });
    var now = Date.now();
    Object.keys(transient).forEach(function (k) {
      if (transient[k].until < now) delete transient[k];
      else if (!items.some(function (i) { return i.kind === transient[k].item.kind && i.station === transient[k].item.station; })) items.push(transient[k].item);
    });
    Object.keys(hubs).forEach(function (name) {
      var h = hubs[name], st = h.status || {};
      if (h.online === false) items.push({ level: 2, rank: 6, kind: "hub_offline", hub: name, flash: true, text: "✖ hub " + name + " is offline" });
      if (st.spool_error) items.push({ level: 2, rank: 8, kind: "spool", hub: name, text: "hub " + name + ": " + st.spool_error });
      else if (h.online && (st.backlog || st.spool)) items.push({ level: 3, rank: 8, kind: "spool", hub: name, text: "hub " + name + ": " + (st.backlog || st.spool) + " sessions waiting to be delivered" });
    });
    Object.keys(tools).forEach(function (k) {
      var d = tools[k].doc;
      if ((d.battery !== null && d.battery !== undefined && d.battery < LOW_BATTERY_PCT) || (d.battery_mv && d.battery_mv < LOW_BATTERY_MV))
        items.push({ level: 3, rank: 7, kind: "low_battery", tool: k, text: "🔋 " + (d.name || tools[k].address) + ": battery low" });
    });
    return items.sort(function (a, b) { return a.rank - b.rank; });
  }

  var soundEl = document.getElementById("sound");
  function renderAttention() {
    var ul = document.querySelector("#attention ul"), items = attentionItems(), seen = {};
    ul.replaceChildren.apply(ul, items.map(function (i) {
      var key = i.kind + "/" + (i.station || i.hub || i.tool);
      seen[key] = true;
      if (!announced[key] && i.level === 1 && soundEl.checked) TP.beep(i.rank === 1 ? 1200 : 880);
      announced[key] = true;
      return el("li", { "data-kind": i.kind, "data-level": String(i.level), "data-station": i.station || null, "data-hub": i.hub || null, class: i.flash ? "flash" : "", text: i.text });
    }));
    Object.keys(announced).forEach(function (k) { if (!seen[k]) delete announced[k]; });
    if (!items.length) ul.appendChild(el("li", { class: "none", "data-level": "3", text: "nothing needs attention" }));
  }

  /* ---- equipment ---- */

  function renderHubs() {
    var tb = document.querySelector("#hubs tbody");
    tb.replaceChildren.apply(tb, Object.keys(hubs).sort().map(function (name) {
      var h = hubs[name], st = h.status || {};
      return el("tr", { "data-hub": name }, [
        el("td", { text: name }),
        el("td", { class: "hub-state", text: h.online ? "online" : h.online === false ? "OFFLINE" : "…" }),
        el("td", { text: st.links !== undefined ? st.links + " / " + st.links_max : "–" }),
        el("td", { text: st.backlog !== undefined ? String(st.backlog) + (st.spool_error ? " (spool error)" : "") : "–" }),
        el("td", { text: st.version || "–" }),
        el("td", { text: h.online && st.uptime_s !== undefined ? TP.fmtDuration(st.uptime_s + Math.round((Date.now() - h.seen) / 1000)) : "–" }),
        el("td", { text: st.clock_synced === undefined ? "–" : st.clock_synced ? "synchronised" : "NOT synchronised" }),
      ]);
    }));
  }

  function renderTools() {
    var tb = document.querySelector("#tools tbody");
    tb.replaceChildren.apply(tb, Object.keys(tools).sort().map(function (k) {
      var t = tools[k], d = t.doc;
      var bat = d.battery !== null && d.battery !== undefined ? d.battery + " %" : d.battery_mv ? (d.battery_mv / 1000).toFixed(2) + " V" : "–";
      return el("tr", { "data-tool": t.address, "data-connected": String(!!d.connected) }, [
        el("td", { text: (d.name || "") + " " + t.address }),
        el("td", { text: t.hub }),
        el("td", { text: d.type || "–" }),
        el("td", { class: "tool-link", text: d.connected ? "connected" : "not connected" }),
        el("td", { text: bat }),
        el("td", { text: d.rssi !== undefined && d.rssi !== null ? d.rssi + " dBm" : "–" }),
        el("td", { text: d.last_seen ? new Date(TP.hubToLocal(t.hub, d.last_seen)).toLocaleTimeString() : d.connected ? "–" : "never" }),
      ]);
    }));
  }

  /* ---- sessions ---- */

  function onSession(t, doc) {
    if (!doc || typeof doc.id !== "string" || sessions.has(doc.id)) return;
    sessions.set(doc.id, doc);
    var points = (doc.steps || []).filter(function (s) { return s.reps && s.reps.length; }).length;
    var row = el("tr", { "data-id": doc.id, class: "session-row", onclick: function () { showDetail(doc); } }, [
      el("td", { text: doc.ended_at ? new Date(doc.ended_at).toLocaleTimeString() : "–" }),
      el("td", { text: (doc.hub || t.hub) + " / " + (doc.station || t.station) }),
      el("td", { text: doc.athlete || "anonymous" }),
      el("td", { text: doc.protocol }),
      el("td", { text: doc.status }),
      el("td", { text: String(points) }),
    ]);
    var tb = document.querySelector("#sessions tbody");
    tb.insertBefore(row, tb.firstChild);
  }

  function isPpt(doc) {
    var steps = doc.steps || [];
    return steps.length > 0 && steps.every(function (s) { return s.kind === "measure"; });
  }

  /* PPT before and after: the same athlete's PPT session before this one, with a treatment
   * (a non-PPT session) in between. */
  function pptBefore(doc) {
    if (!doc.athlete || !isPpt(doc)) return null;
    var list = Array.from(sessions.values()).filter(function (d) { return d.athlete === doc.athlete && d.started_at < doc.started_at; })
      .sort(function (a, b) { return a.started_at < b.started_at ? -1 : 1; });
    var treated = false;
    for (var i = list.length - 1; i >= 0; i--) {
      if (!isPpt(list[i])) treated = true;
      else if (treated) return list[i];
      else return null;
    }
    return null;
  }

  /* The athlete's history page (history.html), on the same broker. */
  function historyUrl(athlete) {
    var u = new URL("history.html", location.href);
    u.search = "";
    if (athlete) u.searchParams.set("athlete", athlete);
    ["broker", "prefix"].forEach(function (k) { if (TP.query.get(k)) u.searchParams.set(k, TP.query.get(k)); });
    return u.toString();
  }

  function ms(v) { return v === null || v === undefined ? "–" : (v / 1000).toFixed(1) + " s"; }
  function nn(v) { return v === null || v === undefined ? "–" : v.toFixed(1) + " N"; }

  function showDetail(doc) {
    var d = document.getElementById("detail"), rows = [];
    (doc.steps || []).forEach(function (st) {
      (st.reps || []).forEach(function (r, i) {
        var flags = [];
        if (r.release_too_fast) flags.push("released too fast");
        if (r.over_hold) flags.push("over hold");
        if (r.over_force_warnings) flags.push(r.over_force_warnings + "× over force");
        rows.push(el("tr", {}, [
          el("td", { text: i === 0 ? st.label + (st.side ? " (" + st.side + ")" : "") : "" }),
          el("td", { text: String(r.attempt || i + 1) }),
          el("td", { text: r.outcome }),
          el("td", { text: st.kind === "measure" ? "threshold " + nn(r.threshold_n) : ms(r.hold_ms) + " / " + ms(st.target_hold_ms) }),
          el("td", { text: ms(r.release_ms) }),
          el("td", { class: "flag", text: flags.join(", ") }),
          el("td", { text: nn(r.force_mean_n) + " / " + nn(r.force_peak_n) }),
        ]));
      });
    });
    var parts = [
      el("h3", { text: (doc.athlete || "anonymous") + " · " + doc.protocol + " · " + doc.status }),
      doc.athlete ? el("a", { class: "athlete-history", href: historyUrl(doc.athlete), text: doc.athlete + "'s history" }) : null,
      el("p", { text: doc.station + " on " + doc.hub + ", " + new Date(doc.started_at).toLocaleString() + ", " + ms(doc.duration_ms) }),
      el("div", { class: "scroll" }, [el("table", { class: "detail-reps" }, [
        el("thead", {}, [el("tr", {}, ["point", "rep", "outcome", "hold / target", "release", "flags", "mean / peak"].map(function (h) { return el("th", { text: h }); }))]),
        el("tbody", {}, rows),
      ])]),
    ];
    var before = pptBefore(doc);
    if (before) {
      var byPoint = {};
      (before.steps || []).forEach(function (s) { byPoint[s.point] = s.threshold_mean_n; });
      parts.push(el("h4", { text: "PPT before and after treatment" }));
      parts.push(el("table", { class: "ppt-compare" }, [
        el("thead", {}, [el("tr", {}, ["point", "before", "after", "change"].map(function (h) { return el("th", { text: h }); }))]),
        el("tbody", {}, (doc.steps || []).map(function (s) {
          var b = byPoint[s.point], a = s.threshold_mean_n;
          return el("tr", {}, [el("td", { text: s.label }), el("td", { text: nn(b) }), el("td", { text: nn(a) }),
            el("td", { text: b && a ? ((a - b) / b * 100).toFixed(0) + " %" : "–" })]);
        })),
      ]));
    }
    parts.push(el("button", { type: "button", text: "Close", onclick: function () { d.hidden = true; } }));
    d.replaceChildren.apply(d, parts.filter(function (p) { return p; }));
    d.hidden = false;
  }

  /* ---- running ---- */

  function tick() {
    var now = Date.now();
    Object.keys(stations).forEach(function (k) {
      var s = stations[k], c = s.e.countdown;
      var left = s.deadline === null || !s.state ? null : Math.max(0, s.deadline - now);
      c.textContent = left === null ? "" : TP.fmtSeconds(left);
      c.dataset.ms = left === null ? "" : String(Math.round(left));
    });
    requestAnimationFrame(tick);
  }

  /* Plots at 10 frames a second: smooth enough for a trace, cheap on a wall screen's Pi. */
  setInterval(function () {
    Object.keys(stations).forEach(function (k) {
      var s = stations[k];
      s.trace.trim();
      s.plot.setData([s.trace.t, s.trace.f]);
      renderForces(s);
    });
  }, 100);
  setInterval(function () { renderAttention(); renderHubs(); }, 1000);

  var connEl = document.getElementById("conn");
  var conn = TP.connect({
    topics: ["+/status", "+/tools/+", "+/+/state", "+/+/force", "+/+/event", "+/+/session", "+/+/last_session", "+/+/cmd/reply"],
    onStatus: function (s) {
      /* (Re)connected: what we knew of each hub may be stale (the broker may have restarted);
       * the retained status brings it back at once if it is still true. */
      if (s === "connected")
        Object.keys(hubs).forEach(function (name) {
          hubs[name].online = null;
          Object.keys(stations).forEach(function (k) { if (stations[k].hub === name) renderHubBadge(stations[k]); });
        });
      renderHubs();
      connEl.textContent = "broker: " + s;
      connEl.dataset.state = s;
    },
    onMessage: onMessage,
  });

  var wallBtn = document.getElementById("wall");
  function setWall(on) {
    document.body.classList.toggle("wall", on);
    wallBtn.textContent = on ? "Leave wall mode" : "Wall mode";
  }
  wallBtn.addEventListener("click", function () {
    var on = !document.body.classList.contains("wall");
    setWall(on);
    if (on && document.documentElement.requestFullscreen) document.documentElement.requestFullscreen().catch(function () {});
    else if (!on && document.fullscreenElement) document.exitFullscreen();
  });
  if (TP.query.get("wall")) setWall(true);
  if (TP.query.get("sound")) soundEl.checked = true;

  document.getElementById("history-link").href = historyUrl(null);
  TP.loadCss("vendor/uPlot.min.css");
  renderAttention();
  requestAnimationFrame(tick);
})();
