/* SPDX-License-Identifier: MIT */
/* What the coach view and the athlete view share: the broker connection (URL and credentials
 * from the page's own origin, the query string or the login form; never from the source), the
 * topic contract of docs/mqtt.md, cue words, clock-skew-corrected countdowns, force batches.
 * Classic script (mosquitto's http_dir sends no Content-Type, so no ES modules): it defines
 * the one global `TP`. */
"use strict";

var TP = (function () {
  var query = new URLSearchParams(location.search);

  /* The words match the station's LEDs (docs/cues.md): green = go/hold, amber = release/rest. */
  var CUE = {
    idle: { word: "READY", hint: "Tap in to start", led: "off" },
    point: { word: "FIND THE POINT", hint: "Go to the point", led: "green" },
    pressing: { word: "PRESS", hint: "Contact: searching", led: "green" },
    hold: { word: "HOLD", hint: "Keep the pressure", led: "green" },
    release: { word: "RELEASE", hint: "Slowly", led: "amber" },
    rest: { word: "REST", hint: "Relax", led: "amber" },
    paused: { word: "PAUSED", hint: "Tool lost", led: "red" },
    done: { word: "DONE", hint: "Well done", led: "green" },
  };

  var WARN = {
    over_force: "OVER FORCE: ease off",
    over_hold: "Held too long",
    tool_lost: "Tool lost",
  };

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs)
      for (var k in attrs) {
        if (k === "text") e.textContent = attrs[k];
        else if (k === "class") e.className = attrs[k];
        else if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), attrs[k]);
        else if (attrs[k] !== null && attrs[k] !== undefined) e.setAttribute(k, attrs[k]);
      }
    (children || []).forEach(function (c) {
      if (c !== null && c !== undefined) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return e;
  }

  /* Broker: ?broker=ws://host:port/ else this page's own origin (mosquitto serves both). */
  function brokerUrl() {
    if (query.get("broker")) return query.get("broker");
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + location.host + "/";
  }

  /* Credentials from the URL are kept for this tab as the sign-in form's are, so that moving
   * between the pages (coach view, history) does not ask again. */
  if (query.get("user")) {
    sessionStorage.setItem("tphub.user", query.get("user"));
    sessionStorage.setItem("tphub.pass", query.get("pass") || "");
  }

  function credentials() {
    var user = query.get("user") || sessionStorage.getItem("tphub.user");
    var pass = query.get("pass") || sessionStorage.getItem("tphub.pass");
    return user ? { username: user, password: pass || "" } : {};
  }

  /* A login form appears when the broker refuses us (not authorised); what is typed is kept
   * for this browser tab only. */
  function showLogin(onDone) {
    if (document.getElementById("login")) return;
    var user = el("input", { id: "login-user", autocomplete: "username", placeholder: "user" });
    var pass = el("input", { id: "login-pass", type: "password", autocomplete: "current-password", placeholder: "password" });
    var form = el("form", { id: "login", class: "login" }, [
      el("h2", { text: "Sign in to the hub's broker" }), user, pass,
      el("button", { type: "submit", text: "Sign in" }),
    ]);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      sessionStorage.setItem("tphub.user", user.value);
      sessionStorage.setItem("tphub.pass", pass.value);
      form.remove();
      onDone();
    });
    document.body.appendChild(form);
    user.focus();
  }

  /* Connects and reconnects by itself (a wall screen must survive a broker restart);
   * mqtt.js re-subscribes after each reconnect, and retained topics bring the state back. */
  function connect(opts) {
    var client = null;
    var prefix = query.get("prefix") || "tphub";
    var clientId = "tphub-web-" + Math.random().toString(16).slice(2, 10);
    /* History queries (docs/recorder.md): MQTT 5 request/response to tphub-recorder. The
     * replies come on a topic of this user and client only, which the broker's ACL lets this
     * user read (docs/dashboard.md). */
    var historyTopic = query.get("history_topic") || "tphub-history/query";
    var waiting = {}; /* correlation data -> {resolve, reject, timer} */
    function replyTopic() {
      return "tphub-history/reply/" + (credentials().username || "anonymous") + "/" + clientId;
    }
    function start() {
      var o = Object.assign({
        protocolVersion: 5,
        reconnectPeriod: 2000,
        connectTimeout: 5000,
        clean: true,
        clientId: clientId,
      }, credentials());
      client = mqtt.connect(brokerUrl(), o);
      client.on("connect", function () {
        opts.onStatus("connected");
        if (opts.topics.length) client.subscribe(opts.topics.map(function (t) { return prefix + "/" + t; }), { qos: 1 });
        if (opts.history) client.subscribe(replyTopic(), { qos: 1 }, function (err) { if (!err && opts.onReady) opts.onReady(); });
      });
      client.on("reconnect", function () { opts.onStatus("reconnecting"); });
      client.on("close", function () { opts.onStatus("disconnected"); });
      client.on("offline", function () { opts.onStatus("disconnected"); });
      client.on("error", function (err) {
        opts.onStatus("error: " + err.message);
        if (/auth|Not authorized|Bad User Name/i.test(err.message)) {
          client.end(true);
          showLogin(start);
        }
      });
      client.on("message", function (topic, payload, packet) {
        if (opts.history && topic === replyTopic()) return onReply(payload, packet);
        var rest = topic.slice(prefix.length + 1).split("/");
        var doc;
        try {
          doc = JSON.parse(payload.toString());
        } catch (e) {
          return; /* not ours: a page must never die of one bad message */
        }
        opts.onMessage(parseTopic(rest), doc, packet.retain);
      });
    }
    function onReply(payload, packet) {
      var cd = packet.properties && packet.properties.correlationData;
      var w = cd && waiting[cd.toString()];
      if (!w) return; /* an answer we gave up on, or not ours */
      delete waiting[cd.toString()];
      clearTimeout(w.timer);
      var doc;
      try {
        doc = JSON.parse(payload.toString());
      } catch (e) {
        return w.reject(new Error("the recorder's answer is not JSON"));
      }
      if (!doc || doc.ok !== true) return w.reject(new Error((doc && doc.error) || "the recorder refused the query"));
      w.resolve(doc);
    }
    /* One query; resolves with the recorder's {ok, items, next}, rejects with its error. */
    function request(obj, timeoutMs) {
      return new Promise(function (resolve, reject) {
        if (!client || !client.connected) return reject(new Error("not connected to the broker"));
        var id = requestId();
        waiting[id] = {
          resolve: resolve, reject: reject,
          timer: setTimeout(function () {
            delete waiting[id];
            reject(new Error("no answer from tphub-recorder within " + Math.round((timeoutMs || 15000) / 1000) +
              " s (is it running, and may this user query history?)"));
          }, timeoutMs || 15000),
        };
        client.publish(historyTopic, JSON.stringify(obj), { qos: 1, properties: { responseTopic: replyTopic(), correlationData: id } },
          function (err) {
            /* MQTT 5: the broker says at once when its ACL drops the query (not authorised) */
            if (!err || !waiting[id]) return;
            clearTimeout(waiting[id].timer);
            delete waiting[id];
            reject(new Error("the broker refused the query (" + err.message + "): this user may not query the history"));
          });
      });
    }
    /* Every page of a paged query, in order: follows "next" until it is null. */
    function requestAll(obj, onPage) {
      var items = [];
      function page(cursor) {
        var q = Object.assign({}, obj);
        if (cursor) q.cursor = cursor;
        return request(q).then(function (r) {
          items = items.concat(r.items);
          if (onPage) onPage(items.length);
          return r.next ? page(r.next) : items;
        });
      }
      return page(null);
    }
    start();
    return {
      publish: function (topic, obj) {
        client.publish(prefix + "/" + topic, JSON.stringify(obj), { qos: 1 });
      },
      request: request,
      requestAll: requestAll,
      prefix: prefix,
    };
  }

  /* <hub>/status, <hub>/tools/<address>, <hub>/<station>/<kind>, <hub>/<station>/cmd/reply */
  function parseTopic(p) {
    if (p.length === 2 && p[1] === "status") return { hub: p[0], kind: "status" };
    if (p.length === 3 && p[1] === "tools") return { hub: p[0], kind: "tool", address: p[2] };
    if (p.length === 3) return { hub: p[0], station: p[1], kind: p[2] };
    if (p.length === 4 && p[2] === "cmd" && p[3] === "reply") return { hub: p[0], station: p[1], kind: "reply" };
    return { kind: "unknown" };
  }

  /* Hub clock vs ours: the smallest (arrival - "at") of recent messages is the clock offset
   * plus the least latency; countdowns are interpolated on our clock with it. */
  var skews = {};
  function skew(hub, at) {
    var t = Date.parse(at);
    if (isNaN(t)) return 0;
    var s = Date.now() - t;
    var a = skews[hub] || (skews[hub] = []);
    a.push(s);
    if (a.length > 20) a.shift();
    return Math.min.apply(null, a);
  }
  function hubToLocal(hub, iso) {
    var a = skews[hub];
    return Date.parse(iso) + (a && a.length ? Math.min.apply(null, a) : 0);
  }

  /* The local time at which a state's countdown reaches zero, or null if open-ended. */
  function deadline(hub, state) {
    if (state.remaining_ms === null || state.remaining_ms === undefined || !state.at) return null;
    return Date.parse(state.at) + skew(hub, state.at) + state.remaining_ms;
  }

  function fmtSeconds(ms) {
    if (ms === null || ms === undefined) return "";
    return (Math.max(0, ms) / 1000).toFixed(1);
  }

  function fmtDuration(s) {
    if (s === null || s === undefined) return "?";
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return h ? h + " h " + m + " min" : m ? m + " min " + (s % 60) + " s" : s + " s";
  }

  /* Force samples of one station: a ring of the last `seconds`, fed by batches (docs/mqtt.md
   * force): a skipped seq is a drop (messages lost), a time jump with consecutive seq is a
   * gap (the tool sent nothing); both break the line with a null. */
  function ForceTrace(seconds) {
    this.seconds = seconds;
    this.t = [];
    this.f = [];
    this.lastSeq = null;
    this.lastT = null;
    this.drops = 0;
    this.gaps = 0;
    this.batches = 0;
    this.samples = 0;
    this.markers = []; /* {t, kind: "contact"|"release"} */
  }
  ForceTrace.prototype.add = function (hub, b) {
    if (!Array.isArray(b.force_n) || typeof b.seq !== "number") return;
    var t0 = hubToLocal(hub, b.t) / 1000, dt = (b.dt_ms || 0) / 1000;
    if (this.lastSeq !== null) {
      if (b.seq > this.lastSeq + 1) this.drops += b.seq - this.lastSeq - 1;
      else if (b.seq === this.lastSeq + 1 && this.lastT !== null && t0 - this.lastT > Math.max(3 * dt, 0.25)) this.gaps++;
      if (b.seq !== this.lastSeq + 1 || t0 - this.lastT > Math.max(3 * dt, 0.25)) {
        this.t.push(this.lastT + 1e-3);
        this.f.push(null);
      }
    }
    for (var i = 0; i < b.force_n.length; i++) {
      this.t.push(t0 + i * dt);
      this.f.push(b.force_n[i]);
    }
    this.lastSeq = b.seq;
    this.lastT = t0 + (b.force_n.length - 1) * dt;
    this.batches++;
    this.samples += b.force_n.length;
    this.trim();
  };
  ForceTrace.prototype.trim = function () {
    var from = Date.now() / 1000 - this.seconds, n = 0;
    while (n < this.t.length && this.t[n] < from) n++;
    if (n) {
      this.t.splice(0, n);
      this.f.splice(0, n);
    }
    this.markers = this.markers.filter(function (m) { return m.t >= from; });
  };
  ForceTrace.prototype.current = function () {
    for (var i = this.f.length - 1; i >= 0; i--) if (this.f[i] !== null) return this.f[i];
    return null;
  };

  /* uPlot draws it: the force line, the target band, the safety maximum, contact and
   * release markers. `limits()` gives the station's current target/safety numbers. */
  function forcePlot(container, trace, limits, opts) {
    opts = opts || {};
    function drawOverlays(u) {
      var ctx = u.ctx, lim = limits() || {};
      var x0 = u.bbox.left, w = u.bbox.width;
      ctx.save();
      if (lim.target_min_n !== undefined && lim.target_min_n !== null && lim.target_max_n) {
        var y1 = u.valToPos(lim.target_max_n, "y", true), y2 = u.valToPos(lim.target_min_n, "y", true);
        ctx.fillStyle = "rgba(60,180,90,0.18)";
        ctx.fillRect(x0, y1, w, y2 - y1);
      }
      if (lim.safety_max_n) {
        var ys = u.valToPos(lim.safety_max_n, "y", true);
        ctx.strokeStyle = "#d33";
        ctx.setLineDash([8, 6]);
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.moveTo(x0, ys);
        ctx.lineTo(x0 + w, ys);
        ctx.stroke();
      }
      ctx.setLineDash([3, 3]);
      trace.markers.forEach(function (m) {
        var x = u.valToPos(m.t, "x", true);
        if (x < x0 || x > x0 + w) return;
        ctx.strokeStyle = m.kind === "contact" ? "#39f" : "#e90";
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
      });
      ctx.restore();
    }
    var u = new uPlot({
      width: container.clientWidth || 300,
      height: opts.height || 140,
      legend: { show: false },
      cursor: { show: false },
      scales: {
        x: { time: false, range: function () { var n = Date.now() / 1000; return [n - trace.seconds, n]; } },
        y: {
          range: function (u, min, max) {
            var lim = limits() || {};
            var top = Math.max(max || 0, (lim.target_max_n || 0) * 0.6, lim.safety_max_n ? lim.safety_max_n * 1.05 : 0, 20);
            return [0, top];
          },
        },
      },
      axes: [
        { values: function (u, vals) { var n = Date.now() / 1000; return vals.map(function (v) { return Math.round(v - n) + " s"; }); }, stroke: "#999", grid: { stroke: "#333" } },
        { stroke: "#999", grid: { stroke: "#333" }, size: 44 },
      ],
      series: [{}, { stroke: "#4cf", width: 2, spanGaps: false }],
      hooks: { drawClear: [drawOverlays] },
    }, [trace.t, trace.f], container);
    new ResizeObserver(function () {
      if (container.clientWidth) u.setSize({ width: container.clientWidth, height: opts.height || 140 });
    }).observe(container);
    return u;
  }

  /* uPlot's stylesheet, inlined at run time: the broker serves files without a Content-Type,
   * which a browser accepts for classic scripts but not for stylesheets. */
  function loadCss(href) {
    return fetch(href).then(function (r) { return r.text(); }).then(function (css) {
      document.head.appendChild(el("style", { text: css }));
    });
  }

  /* One short beep through Web Audio (attention sound, opt-in). */
  var audio = null;
  function beep(freq) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = freq || 880;
      g.gain.value = 0.15;
      o.connect(g).connect(audio.destination);
      o.start();
      o.stop(audio.currentTime + 0.25);
    } catch (e) { /* no audio device: the list still flashes */ }
  }

  var reqSeq = 0;
  function requestId() {
    reqSeq++;
    return "web-" + Date.now().toString(36) + "-" + reqSeq;
  }

  /* Where a station's athlete view lives (for links and QR codes). Credentials are never
   * put into it: a station account's URL is made by hand (docs/dashboard.md). */
  function stationUrl(hub, station) {
    var u = new URL("station.html", location.href);
    u.search = "";
    u.searchParams.set("hub", hub);
    u.searchParams.set("station", station);
    ["broker", "prefix"].forEach(function (k) { if (query.get(k)) u.searchParams.set(k, query.get(k)); });
    return u.toString();
  }

  function qrSvg(text, cell) {
    var q = qrcode(0, "M");
    q.addData(text);
    q.make();
    return q.createSvgTag({ cellSize: cell || 4, margin: 2, scalable: true });
  }

  return {
    query: query, CUE: CUE, WARN: WARN, el: el, connect: connect, deadline: deadline, hubToLocal: hubToLocal,
    skew: skew, fmtSeconds: fmtSeconds, fmtDuration: fmtDuration, ForceTrace: ForceTrace, forcePlot: forcePlot,
    loadCss: loadCss, beep: beep, requestId: requestId, stationUrl: stationUrl, qrSvg: qrSvg,
  };
})();
