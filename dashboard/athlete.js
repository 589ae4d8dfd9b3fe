/* SPDX-License-Identifier: MIT */
/* The athlete view: one station, large (a screen at the station or the athlete's phone).
 * station.html?hub=HUB&station=NAME */
"use strict";

(function () {
  var $ = function (id) { return document.getElementById(id); };
  var hub = TP.query.get("hub"), name = TP.query.get("station");
  var state = null, deadline = null, total = null, force = null, status = null, pendingId = null;
  var RING = 2 * Math.PI * 50;

  if (!hub || !name) {
    $("prompt").textContent = "Open this page with ?hub=HUB&station=STATION";
    return;
  }
  $("title").textContent = name + " · " + hub;
  document.title = "tphub: " + name;
  $("qr").innerHTML = TP.qrSvg(location.href, 5);
  $("url").textContent = location.href;

  function render() {
    var st = state, cue = TP.CUE[st.state] || { word: st.state, hint: "", led: "off" };
    document.body.dataset.state = st.state;
    $("prompt").dataset.led = cue.led;
    $("prompt").textContent = st.prompt || cue.word;
    $("hint").textContent = st.release_reason === "not_released" ? "Not released yet: you will come back to this point" :
      st.release_reason === "over_force" ? "Too much force: release and ease off" : st.prompt ? "" : cue.hint;
    $("label").textContent = st.label || (st.session_id ? "" : "Enter your id and start");
    $("side").textContent = st.side ? st.side : "";
    $("instruction").textContent = st.instruction || "";
    $("warnings").replaceChildren.apply($("warnings"), (st.warnings || []).map(function (w) {
      return TP.el("span", { "data-warning": w, text: "⚠ " + (TP.WARN[w] || w) });
    }));
    /* the protocol's safety notice: shown from check-in until the first hold */
    var notice = st.safety_notice && (st.state === "point" || st.state === "pressing") && st.step === 0 && st.rep === 1;
    $("notice").hidden = !notice;
    $("notice").textContent = notice ? st.safety_notice : "";
    var nx = st.next;
    $("next").hidden = !nx;
    $("next").textContent = nx ? "Next: " + (nx.label || nx.point || nx.kind) + (nx.side ? " (" + nx.side + ")" : "") : "";
    var lim = st;
    var top = Math.max(lim.safety_max_n ? lim.safety_max_n * 1.1 : 0, lim.target_max_n || 0, 50);
    if (lim.target_min_n !== undefined && lim.target_min_n !== null && lim.target_max_n) {
      $("band").hidden = false;
      $("band").style.left = (lim.target_min_n / top * 100) + "%";
      $("band").style.width = ((lim.target_max_n - lim.target_min_n) / top * 100) + "%";
    } else $("band").hidden = true;
    if (lim.safety_max_n) {
      $("safety").hidden = false;
      $("safety").style.left = (lim.safety_max_n / top * 100) + "%";
    } else $("safety").hidden = true;
    $("bar").dataset.top = String(top);
    $("startbtn").disabled = !!st.session_id;
    $("start").hidden = !!st.session_id; /* while a session runs: only skip and stop */
    $("skip").disabled = $("stop").disabled = !st.session_id;
  }

  function renderForce() {
    var top = Number($("bar").dataset.top || 50), f = force === null ? (state ? state.force_n : null) : force;
    $("fill").style.width = f === null || f === undefined ? "0" : Math.min(100, Math.max(0, f / top * 100)) + "%";
    $("forcetext").textContent = f === null || f === undefined ? "– N" : f.toFixed(1) + " N";
    $("target").textContent = state && state.target_min_n && state.target_max_n ? "target " + state.target_min_n + "–" + state.target_max_n + " N" : "";
    $("bar").classList.toggle("over", !!(state && state.safety_max_n && f > state.safety_max_n));
  }

  function tick() {
    var left = deadline === null ? null : Math.max(0, deadline - Date.now());
    var fg = document.querySelector("#ring .fg");
    $("count").textContent = left === null ? "" : Math.ceil(left / 1000) + " s";
    $("count").dataset.ms = left === null ? "" : String(Math.round(left));
    fg.setAttribute("stroke-dashoffset", left === null || !total ? RING : String(RING * (1 - left / total)));
    fg.style.visibility = left === null || !total ? "hidden" : "visible";
    renderForce();
    requestAnimationFrame(tick);
  }

  function fillProtocols() {
    var sel = $("protocol"), keep = sel.value;
    sel.replaceChildren(TP.el("option", { value: "", text: "station's protocol" }));
    ((status && status.protocols) || []).forEach(function (p) {
      sel.appendChild(TP.el("option", { value: p.name, text: p.title || p.name }));
    });
    sel.value = keep;
  }

  function command(c) {
    c.id = pendingId = TP.requestId();
    $("reply").className = "";
    $("reply").textContent = "…";
    conn.publish(hub + "/" + name + "/cmd", c);
  }

  var conn = TP.connect({
    topics: [hub + "/status", hub + "/" + name + "/state", hub + "/" + name + "/force", hub + "/" + name + "/cmd/reply"],
    onStatus: function (s) { $("conn").textContent = s; $("conn").dataset.state = s; },
    onMessage: function (t, doc) {
      if (t.hub !== hub) return;
      if (t.kind === "status") {
        status = doc;
        $("hubstate").textContent = doc.state === "online" ? "" : "station offline";
        $("hubstate").classList.toggle("offline", doc.state !== "online");
        fillProtocols();
        return;
      }
      if (t.station !== name) return;
      if (t.kind === "state") {
        var prev = state ? state.state + "/" + state.step + "/" + state.rep : null;
        state = doc;
        deadline = TP.deadline(hub, doc);
        /* the ring's full length: the first remaining_ms seen in this phase */
        if (prev !== doc.state + "/" + doc.step + "/" + doc.rep || total === null) total = doc.remaining_ms;
        if (doc.state === "hold" && doc.target_hold_ms) total = doc.target_hold_ms;
        render();
      } else if (t.kind === "force" && Array.isArray(doc.force_n) && doc.force_n.length) {
        force = doc.force_n[doc.force_n.length - 1];
      } else if (t.kind === "reply" && doc.id === pendingId) {
        $("reply").className = doc.ok ? "" : "err";
        $("reply").textContent = doc.ok ? "ok" : doc.error;
      }
    },
  });

  $("start").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var c = { cmd: "start" }, a = $("athlete").value.trim();
    if (a) c.athlete = a;
    if ($("protocol").value) c.protocol = $("protocol").value;
    command(c);
  });
  $("skip").addEventListener("click", function () { command({ cmd: "skip" }); });
  $("stop").addEventListener("click", function () { command({ cmd: "stop" }); });
  if (TP.query.get("athlete")) $("athlete").value = TP.query.get("athlete");
  requestAnimationFrame(tick);
})();
