/* SPDX-License-Identifier: MIT */
/* The history pages: one athlete's progress over time (PPT before/after treatment, hold and
 * release per point and side, left/right asymmetry), an adherence calendar per week, and
 * export of the athlete's sessions as CSV (one row per rep) or JSON (the session documents).
 * Everything comes from tphub-recorder's history queries over MQTT 5 request/response
 * (docs/recorder.md); paged queries are followed to their last page. Times are shown in UTC,
 * as the recorder's weeks are. */
"use strict";

(function () {
  var el = TP.el;
  var PAGE = 100;          /* sessions and trends per request; documents likewise (the recorder caps by size too) */
  var MAX_WEEKS = 520;
  var current = null;      /* {athlete, from, to} being shown */

  var $ = function (id) { return document.getElementById(id); };
  var statusEl = $("status");

  /* ---- formatting (UTC throughout: the recorder's weeks start on Monday 00:00 UTC) ---- */

  function isoDay(iso) { return iso ? iso.slice(0, 10) : "–"; }
  function isoMinute(iso) { return iso ? iso.slice(0, 10) + " " + iso.slice(11, 16) : "–"; }
  function none(v) { return v === null || v === undefined; }
  /* v to d decimals, a difference that rounds to zero shown as 0 (not -0.0) */
  function fixed(v, d) { var s = v.toFixed(d); return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s; }
  function fN(v) { return none(v) ? "–" : fixed(v, 1) + " N"; }
  function fS(ms) { return none(ms) ? "–" : fixed(ms / 1000, 1) + " s"; }
  function signed(s) { return /^[1-9]|^0\.0*[1-9]/.test(s) ? "+" + s : s; }
  function dN(v) { return none(v) ? "–" : signed(fixed(v, 1) + " N"); }
  function dS(ms) { return none(ms) ? "–" : signed(fixed(ms / 1000, 1) + " s"); }
  function dPct(v) { return none(v) || !isFinite(v) ? "–" : signed(fixed(v, 0) + " %"); }
  function cls(v) { return none(v) || v === 0 ? "num" : v > 0 ? "num up" : "num down"; }

  /* <input type=date> values to the recorder's [from, to): "to" includes its whole day. */
  function rangeOf(from, to) {
    var r = {};
    if (from) r.from = from + "T00:00:00Z";
    if (to) r.to = new Date(Date.parse(to + "T00:00:00Z") + 86400000).toISOString();
    return r;
  }

  function setStatus(text, err) {
    statusEl.textContent = text;
    statusEl.className = err ? "err" : "";
  }

  /* ---- loading ---- */

  var conn = TP.connect({
    topics: [],
    history: true,
    onStatus: function (s) {
      $("conn").textContent = "broker: " + s;
      $("conn").dataset.state = s;
    },
    onReady: function () { if (current && document.body.dataset.loaded !== "true") load(); },
    onMessage: function () {},
  });

  var generation = 0;
  function load() {
    var q = Object.assign({ athlete: current.athlete }, rangeOf(current.from, current.to)), mine = ++generation;
    document.body.dataset.loaded = "loading";
    $("export-csv").disabled = $("export-json").disabled = true;
    setStatus("loading " + current.athlete + "'s history…");
    var progress = function (what) { return function (n) { if (mine === generation) setStatus("loading " + current.athlete + "'s history… " + n + " " + what); }; };
    Promise.all([
      conn.requestAll(Object.assign({ query: "sessions", limit: PAGE }, q), progress("sessions")),
      conn.requestAll(Object.assign({ query: "trends", limit: PAGE }, q)),
      conn.request(Object.assign({ query: "ppt" }, q)),
      conn.request(Object.assign({ query: "adherence" }, q)),
    ]).then(function (r) {
      if (mine !== generation) return; /* another athlete or range was asked for meanwhile */
      var sessions = r[0], trends = r[1], ppt = r[2].items, weeks = r[3].items;
      renderSummary(sessions);
      renderPpt(ppt);
      renderTrends(trends);
      renderAsymmetry(trends);
      renderAdherence(weeks, q);
      renderSessions(sessions);
      $("export-csv").disabled = $("export-json").disabled = sessions.length === 0;
      setStatus("");
      document.body.dataset.sessions = String(sessions.length);
      document.body.dataset.loaded = "true";
    }).catch(function (e) {
      if (mine !== generation) return;
      setStatus("error: " + e.message, true);
      document.body.dataset.loaded = "error";
    });
  }

  function renderSummary(sessions) {
    var completed = sessions.filter(function (s) { return s.status === "completed"; }).length;
    var last = sessions.length ? sessions[sessions.length - 1].started_at : null;
    /* who stopped coming: how long ago the last session in the range was */
    var ago = last ? Math.floor((Date.now() - Date.parse(last)) / 86400000) : null;
    $("summary").textContent = sessions.length ?
      current.athlete + ": " + sessions.length + " sessions (" + completed + " completed), " +
        isoDay(sessions[0].started_at) + " to " + isoDay(last) +
        (ago >= 0 ? "; the last " + (ago === 0 ? "today" : ago === 1 ? "yesterday" : ago + " days ago") : "") :
      "No sessions of " + current.athlete + " in this range.";
  }

  /* ---- charts ---- */

  /* One uPlot per container, replaced (and its resize observer with it) on every redraw. */
  function chart(container, title, xs, series) {
    if (container.uplot) { container.uplot.destroy(); container.uplot = null; }
    if (container.resizer) { container.resizer.disconnect(); container.resizer = null; }
    container.replaceChildren();
    container.dataset.points = String(xs.length);
    if (!xs.length) return;
    var colours = ["#4cc3ff", "#f0a020", "#2fbf60", "#e5484d", "#b48cff", "#ffd84c", "#ff7fbf", "#9fe3b4"];
    var u = new uPlot({
      title: title,
      width: container.clientWidth || 600,
      height: 220,
      scales: { x: { time: true } },
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); }, /* UTC, as the tables */
      axes: [{ stroke: "#999", grid: { stroke: "#333" } }, { stroke: "#999", grid: { stroke: "#333" }, size: 54 }],
      series: [{}].concat(series.map(function (s, i) {
        return { label: s.label, stroke: colours[i % colours.length], width: 2, spanGaps: true, points: { show: true, size: 6 } };
      })),
    }, [xs].concat(series.map(function (s) { return s.values; })), container);
    container.uplot = u;
    container.resizer = new ResizeObserver(function () {
      if (container.clientWidth) u.setSize({ width: container.clientWidth, height: 220 });
    });
    container.resizer.observe(container);
  }

  /* ---- PPT before and after (the recorder's "ppt" query) ---- */

  function renderPpt(items) {
    var tb = $("ppt").querySelector("tbody");
    tb.replaceChildren.apply(tb, items.map(function (p) {
      var pct = none(p.change_n) || !p.before_n ? null : p.change_n / p.before_n * 100;
      return el("tr", { "data-treatment": p.treatment, "data-point": p.point }, [
        el("td", { text: isoMinute(p.started_at) }),
        el("td", { text: p.protocol }),
        el("td", { text: p.point }),
        el("td", { text: p.side || "–" }),
        el("td", { class: "num", text: fN(p.before_n) }),
        el("td", { class: "num", text: fN(p.after_n) }),
        el("td", { class: cls(p.change_n), text: dN(p.change_n) }),
        el("td", { class: cls(pct), text: dPct(pct) }),
      ]);
    }));
    if (!items.length) tb.appendChild(el("tr", {}, [el("td", { colspan: "8", class: "note", text: "no PPT measured around a treatment in this range" })]));
    /* change per point over time, one line per point */
    var times = [], points = [];
    items.forEach(function (p) {
      var t = Date.parse(p.started_at) / 1000;
      if (times.indexOf(t) < 0) times.push(t);
      if (points.indexOf(p.point) < 0) points.push(p.point);
    });
    times.sort(function (a, b) { return a - b; });
    chart($("ppt-chart"), "PPT change after treatment (N)", times, points.map(function (pt) {
      var v = times.map(function () { return null; });
      items.forEach(function (p) { if (p.point === pt) v[times.indexOf(Date.parse(p.started_at) / 1000)] = p.change_n; });
      return { label: pt, values: v };
    }));
  }

  /* ---- hold and release per point and side (the "trends" query) ---- */

  /* trends rows grouped by point and side, each group in start order */
  function groups(trends) {
    var g = {}, order = [];
    trends.forEach(function (r) {
      var k = r.point + "\u0000" + (r.side || "");
      if (!g[k]) { g[k] = { key: r.point + " " + (r.side || ""), point: r.point, side: r.side, kind: r.kind, rows: [] }; order.push(k); }
      g[k].rows.push(r);
    });
    return order.sort().map(function (k) { return g[k]; });
  }

  function firstLatest(rows, field) {
    var vals = rows.filter(function (r) { return !none(r[field]); });
    if (!vals.length) return { first: null, latest: null, change: null };
    var first = vals[0][field], latest = vals[vals.length - 1][field];
    return { first: first, latest: latest, change: vals.length > 1 ? latest - first : null };
  }

  var trendGroups = [];
  function renderTrends(trends) {
    trendGroups = groups(trends);
    var tb = $("trends").querySelector("tbody");
    tb.replaceChildren.apply(tb, trendGroups.map(function (g) {
      var measure = g.kind === "measure";
      var h = firstLatest(g.rows, "hold_ms_mean"), r = firstLatest(g.rows, "release_ms_mean"), t = firstLatest(g.rows, "threshold_n");
      return el("tr", { "data-point": g.point, "data-side": g.side || "" }, [
        el("td", { text: g.point }),
        el("td", { text: g.side || "–" }),
        el("td", { class: "num", text: String(g.rows.length) }),
        el("td", { class: "num", text: measure ? "–" : fS(h.first) }),
        el("td", { class: "num", text: measure ? "–" : fS(h.latest) }),
        el("td", { class: "num", text: measure ? "–" : dS(h.change) }),
        el("td", { class: "num", text: measure ? "–" : fS(r.first) }),
        el("td", { class: "num", text: measure ? "–" : fS(r.latest) }),
        el("td", { class: "num", text: measure ? "–" : dS(r.change) }),
        el("td", { class: "num", text: measure ? fN(t.first) : "–" }),
        el("td", { class: "num", text: measure ? fN(t.latest) : "–" }),
      ]);
    }));
    if (!trendGroups.length) tb.appendChild(el("tr", {}, [el("td", { colspan: "11", class: "note", text: "no reps in this range" })]));
    /* the chosen point stays chosen across reloads while the athlete has it */
    var sel = $("trend-point"), keep = sel.value;
    sel.replaceChildren.apply(sel, trendGroups.map(function (g) {
      return el("option", { value: g.key, text: g.point + (g.side ? " (" + g.side + ")" : "") });
    }));
    if (trendGroups.some(function (g) { return g.key === keep; })) sel.value = keep;
    renderTrendChart();
  }

  function renderTrendChart() {
    var key = $("trend-point").value, g = trendGroups.filter(function (x) { return x.key === key; })[0];
    if (!g) return chart($("trend-chart"), "", [], []);
    var xs = g.rows.map(function (r) { return Date.parse(r.started_at) / 1000; });
    var sec = function (f) { return g.rows.map(function (r) { return none(r[f]) ? null : r[f] / 1000; }); };
    var series = g.kind === "measure" ?
      [{ label: "PPT threshold (N)", values: g.rows.map(function (r) { return r.threshold_n; }) }] :
      [{ label: "hold (s)", values: sec("hold_ms_mean") }, { label: "release (s)", values: sec("release_ms_mean") }];
    chart($("trend-chart"), g.point + (g.side ? " (" + g.side + ")" : ""), xs, series);
  }
  $("trend-point").addEventListener("change", renderTrendChart);

  /* ---- left/right asymmetry ---- */

  var METRICS = [
    { field: "threshold_n", label: "PPT threshold", kinds: ["measure"], fmt: fN, diff: dN },
    { field: "hold_ms_mean", label: "hold", kinds: ["press", "stretch"], fmt: fS, diff: dS },
    { field: "release_ms_mean", label: "release", kinds: ["press", "stretch"], fmt: fS, diff: dS },
  ];

  function renderAsymmetry(trends) {
    /* per pair base: session -> {started_at, left: row, right: row} */
    var pairs = {};
    trends.forEach(function (r) {
      var m = /^(.*)-(left|right)$/.exec(r.point);
      if (!m) return;
      var p = pairs[m[1]] || (pairs[m[1]] = { base: m[1], kind: r.kind, sessions: {}, order: [] });
      var s = p.sessions[r.session];
      if (!s) { s = p.sessions[r.session] = { started_at: r.started_at }; p.order.push(r.session); }
      s[m[2]] = r;
    });
    var rows = [];
    Object.keys(pairs).sort().forEach(function (base) {
      var p = pairs[base];
      METRICS.forEach(function (mt) {
        if (mt.kinds.indexOf(p.kind) < 0) return;
        var both = p.order.map(function (id) { return p.sessions[id]; }).filter(function (s) {
          return s.left && s.right && !none(s.left[mt.field]) && !none(s.right[mt.field]);
        });
        if (!both.length) return;
        var last = both[both.length - 1], l = last.left[mt.field], r = last.right[mt.field];
        var mean = both.reduce(function (a, s) { return a + (s.left[mt.field] - s.right[mt.field]); }, 0) / both.length;
        var pct = l + r ? (l - r) / ((l + r) / 2) * 100 : null;
        rows.push(el("tr", { "data-pair": base, "data-measure": mt.field }, [
          el("td", { text: base + "-left / " + base + "-right" }),
          el("td", { text: mt.label }),
          el("td", { class: "num", text: String(both.length) }),
          el("td", { text: isoDay(last.started_at) }),
          el("td", { class: "num", text: mt.fmt(l) }),
          el("td", { class: "num", text: mt.fmt(r) }),
          el("td", { class: "num", text: mt.diff(l - r) }),
          el("td", { class: "num", text: dPct(pct) }),
          el("td", { class: "num", text: mt.diff(mean) }),
        ]));
      });
    });
    if (!rows.length) rows.push(el("tr", {}, [el("td", { colspan: "9", class: "note", text: "no point measured on both sides in one session" })]));
    var tb = $("asymmetry").querySelector("tbody");
    tb.replaceChildren.apply(tb, rows);
  }

  /* ---- adherence calendar ---- */

  var WEEK = 7 * 86400000;
  function mondayOf(ms) {
    var d = new Date(ms), day = (d.getUTCDay() + 6) % 7;
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - day * 86400000;
  }

  function renderAdherence(items, q) {
    var box = $("weeks"), byWeek = {};
    items.forEach(function (w) { byWeek[w.week_start] = w; });
    box.replaceChildren();
    if (!items.length && !q.from) {
      $("adherence-summary").textContent = "no sessions";
      return;
    }
    /* Every week of the range, those without a session too: a gap, or the empty weeks up to
     * this one, is what a coach looks for. From the range's start (or the first week with a
     * session) to this week (or the range's end, if earlier), never short of the last week with
     * a session. */
    var start = mondayOf(q.from ? Date.parse(q.from) : Date.parse(items[0].week_start + "T00:00:00Z"));
    var lastItem = items.length ? Date.parse(items[items.length - 1].week_start + "T00:00:00Z") : start;
    var endMs = Math.max(q.to ? Math.min(Date.parse(q.to) - 1, Date.now()) : Date.now(), lastItem);
    var end = mondayOf(endMs), n = 0, withSessions = 0, total = 0, completed = 0, minutes = 0;
    for (var t = start; t <= end && n < MAX_WEEKS; t += WEEK, n++) {
      var day = new Date(t).toISOString().slice(0, 10), w = byWeek[day] || { sessions: 0, completed: 0, minutes: 0 };
      if (w.sessions) withSessions++;
      total += w.sessions; completed += w.completed; minutes += w.minutes;
      box.appendChild(el("div", {
        class: "week" + (w.sessions ? " l" + Math.min(w.sessions, 3) : ""), "data-week": day,
        "data-sessions": String(w.sessions), "data-completed": String(w.completed), "data-minutes": String(w.minutes),
        title: "week of " + day + ": " + w.sessions + " sessions, " + w.completed + " completed, " + w.minutes + " min",
      }, [day.slice(5), el("b", { text: String(w.sessions) }), w.completed + " done · " + w.minutes + " min"]));
    }
    $("adherence-summary").textContent = withSessions + " of " + n + " weeks with a session; " + total + " sessions, " +
      completed + " completed, " + minutes + " min";
  }

  /* ---- sessions ---- */

  function renderSessions(sessions) {
    var tb = $("sessions").querySelector("tbody");
    $("detail").hidden = true;
    tb.replaceChildren.apply(tb, sessions.map(function (s) {
      return el("tr", { "data-id": s.id, class: "session-row", onclick: function () { showDetail(s.id); } }, [
        el("td", { text: isoMinute(s.started_at) }),
        el("td", { text: s.protocol }),
        el("td", { text: s.status }),
        el("td", { text: s.hub + " / " + s.station }),
        el("td", { class: "num", text: String(s.reps) }),
        el("td", { class: "num", text: String(s.completed) }),
        el("td", { class: "num", text: none(s.duration_ms) ? "–" : TP.fmtDuration(Math.round(s.duration_ms / 1000)) }),
      ]);
    }));
  }

  /* A session's reps, from its whole document (query "session"). */
  function showDetail(id) {
    var d = $("detail");
    d.hidden = false;
    d.dataset.id = id;
    d.replaceChildren(el("p", { class: "note", text: "loading the session…" }));
    conn.request({ query: "session", id: id }).then(function (r) {
      if (d.dataset.id !== id) return;
      var doc = r.items[0];
      if (!doc) return d.replaceChildren(el("p", { text: "the recorder no longer has this session" }));
      var rows = [];
      (doc.steps || []).forEach(function (st) {
        (st.reps || []).forEach(function (rep, i) {
          rows.push(el("tr", {}, [
            el("td", { text: i === 0 ? st.label + (st.side ? " (" + st.side + ")" : "") : "" }),
            el("td", { text: String(rep.attempt || i + 1) }),
            el("td", { text: rep.outcome }),
            el("td", { class: "num", text: st.kind === "measure" ? "threshold " + fN(rep.threshold_n) : fS(rep.hold_ms) + " / " + fS(st.target_hold_ms) }),
            el("td", { class: "num", text: fS(rep.release_ms) }),
            el("td", { class: "num", text: fN(rep.force_mean_n) + " / " + fN(rep.force_peak_n) }),
          ]));
        });
      });
      d.replaceChildren(
        el("h3", { text: isoMinute(doc.started_at) + " · " + doc.protocol + " · " + doc.status + " · " + doc.hub + " / " + doc.station }),
        el("div", { class: "scroll" }, [el("table", { class: "detail-reps" }, [
          el("thead", {}, [el("tr", {}, ["point", "rep", "outcome", "hold / target", "release", "mean / peak"].map(function (h) { return el("th", { text: h }); }))]),
          el("tbody", {}, rows.length ? rows : [el("tr", {}, [el("td", { colspan: "6", class: "note", text: "no reps" })])]),
        ])]),
        el("button", { type: "button", text: "Close", onclick: function () { d.hidden = true; } }));
    }).catch(function (e) { d.replaceChildren(el("p", { class: "note", text: "error: " + e.message })); });
  }

  /* ---- export ---- */

  var CSV_COLUMNS = ["session_id", "hub", "station", "athlete", "protocol", "status", "started_at", "ended_at", "duration_ms",
    "step", "point", "label", "side", "muscle", "kind", "target_hold_ms", "threshold_mean_n",
    "rep", "outcome", "attempt", "started_ms", "hold_started_ms", "hold_ms", "release_ms", "release_too_fast", "over_hold",
    "over_force_warnings", "force_mean_n", "force_peak_n", "threshold_n", "ramp_n_per_s"];

  /* RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled; null is empty. */
  function csvField(v) {
    if (none(v)) return "";
    var s = String(v);
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  /* Free text that a spreadsheet would take for a formula is written as text (a leading '). */
  function text(v) { return typeof v === "string" && /^[=+\-@]/.test(v) ? "'" + v : v; }

  /* One row per rep (step and rep numbered from 1, in the document's order); a session without
   * any rep still gets one row, with the rep columns empty. */
  function toCsv(docs) {
    var lines = [CSV_COLUMNS.join(",")];
    docs.forEach(function (d) {
      var head = [d.id, d.hub, d.station, d.athlete, d.protocol, d.status, d.started_at, d.ended_at, d.duration_ms];
      var n = 0;
      (d.steps || []).forEach(function (st, si) {
        (st.reps || []).forEach(function (r, ri) {
          n++;
          lines.push(head.concat([si + 1, st.point, text(st.label), st.side, text(st.muscle), st.kind, st.target_hold_ms, st.threshold_mean_n,
            ri + 1, r.outcome, r.attempt, r.started_ms, r.hold_started_ms, r.hold_ms, r.release_ms, r.release_too_fast, r.over_hold,
            r.over_force_warnings, r.force_mean_n, r.force_peak_n, r.threshold_n, r.ramp_n_per_s]).map(csvField).join(","));
        });
      });
      if (!n) lines.push(head.map(csvField).join(",") + ",".repeat(CSV_COLUMNS.length - head.length));
    });
    return lines.join("\r\n") + "\r\n";
  }

  function download(name, type, text) {
    var url = URL.createObjectURL(new Blob([text], { type: type }));
    var a = el("a", { href: url, download: name });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  }

  function exportAs(kind) {
    var c = current, es = $("export-status");
    var q = Object.assign({ query: "documents", athlete: c.athlete, limit: PAGE }, rangeOf(c.from, c.to));
    es.textContent = "fetching the session documents…";
    conn.requestAll(q, function (n) { es.textContent = "fetching the session documents… " + n; }).then(function (docs) {
      var name = "tphub-" + c.athlete + (c.from ? "-from-" + c.from : "") + (c.to ? "-to-" + c.to : "");
      if (kind === "csv") download(name + ".csv", "text/csv", toCsv(docs));
      else download(name + ".json", "application/json", JSON.stringify(docs, null, 1) + "\n");
      es.textContent = docs.length + " sessions exported as " + kind.toUpperCase();
    }).catch(function (e) { es.textContent = "export failed: " + e.message; });
  }
  $("export-csv").addEventListener("click", function () { exportAs("csv"); });
  $("export-json").addEventListener("click", function () { exportAs("json"); });

  /* ---- the form and the URL (?athlete=&from=&to=, so a view can be bookmarked) ---- */

  function fromUrl() {
    var a = TP.query.get("athlete");
    $("athlete").value = a || "";
    $("from").value = TP.query.get("from") || "";
    $("to").value = TP.query.get("to") || "";
    current = a ? { athlete: a, from: $("from").value, to: $("to").value } : null;
  }

  $("pick").addEventListener("submit", function (ev) {
    ev.preventDefault();
    current = { athlete: $("athlete").value.trim(), from: $("from").value, to: $("to").value };
    var u = new URL(location.href);
    ["athlete", "from", "to"].forEach(function (k) {
      if (current[k]) u.searchParams.set(k, current[k]); else u.searchParams.delete(k);
    });
    history.replaceState(null, "", u);
    load();
  });

  var coach = new URL("index.html", location.href);
  ["broker", "prefix"].forEach(function (k) { if (TP.query.get(k)) coach.searchParams.set(k, TP.query.get(k)); });
  $("coach-link").href = coach.toString();
  fromUrl();
  TP.loadCss("vendor/uPlot.min.css");
})();
