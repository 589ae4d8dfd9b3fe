// SPDX-License-Identifier: MIT
// Benchmark item 8 (docs/benchmarks.md): the coach view's own cost under load. A private
// mosquitto (plain listener on loopback + a websockets listener with http_dir on the built web
// root, password made for this run) carries the traffic of N stations on H hubs that a
// publisher child process makes (this file with --publish, mqtt.js from the dashboard's npm
// tree): retained status/meta/tools/state, state at every transition and at 4 Hz in countdowns,
// events, force batches of an 80 Hz tool (10 a second, 8 samples, seq/t/dt_ms). Debian's
// chromium (playwright-core from tests/browser's npm tree) opens the coach view at 1920x1080;
// the page measures frame rate and long tasks, CDP gives heap and main-thread task time,
// /proc the browser's CPU. Prints one JSON document. Never fails on a figure: only when nothing
// arrived (a benchmark that received nothing must not report a fine frame rate).
//
//   node bench-dashboard.mjs --www DIR --mqtt-npm DIR --playwright-npm DIR
//        [--stations 12] [--hubs 3] [--seconds 60] [--warmup 5] [--out FILE]
import { spawn, fork, execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

function opts(argv) {
  const o = { stations: 12, hubs: 3, seconds: 60, warmup: 5, rate: 80, chromium: process.env.TPHUB_CHROMIUM || "/usr/bin/chromium" };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, "").replace(/-(.)/g, (_, c) => c.toUpperCase());
    if (k === "publish") o.publish = true;
    else o[k] = argv[++i];
  }
  for (const k of ["stations", "hubs", "seconds", "warmup", "rate", "port"]) if (o[k] !== undefined) o[k] = Number(o[k]);
  for (const k of ["www", "mqttNpm", "playwrightNpm", "out", "screenshot"]) if (o[k] !== undefined) o[k] = path.resolve(o[k]);
  return o;
}
const O = opts(process.argv.slice(2));

// ------------------------------------------------------------------ the publisher (child)

// One station's athlete, as docs/mqtt.md describes what a hub publishes: a 12-step session of
// point (1.5 s) -> pressing (1 s) -> hold (6 s countdown) -> release (1.5 s) -> rest (3 s),
// force rising to a plateau in the hold, over-force now and then (warning in the state).
const PHASES = [["point", 1500], ["pressing", 1000], ["hold", 6000], ["release", 1500], ["rest", 3000]];
const CYCLE = PHASES.reduce((a, p) => a + p[1], 0);

function publisher() {
  const require = createRequire(path.join(O.mqttNpm, "package.json"));
  const mqtt = require("mqtt");
  const prefix = "tphub", dt = 1000 / O.rate;
  const hubs = [...Array(O.hubs)].map((_, h) => ({ name: "gym-" + String.fromCharCode(97 + h), stations: [] }));
  const st = [];
  for (let i = 0; i < O.stations; i++) {
    const hub = hubs[i % O.hubs];
    const s = { hub: hub.name, name: "bench-" + (Math.floor(i / O.hubs) + 1), i, seq: 0, phase: -1, offset: (i * 977) % CYCLE,
                step: 0, addr: "C8:00:00:00:" + (0x10 + Math.floor(i / 256)).toString(16).toUpperCase().padStart(2, "0") + ":" + (i % 256).toString(16).toUpperCase().padStart(2, "0") };
    hub.stations.push(s.name);
    st.push(s);
  }
  const c = mqtt.connect("mqtt://127.0.0.1:" + O.port, { protocolVersion: 5, clientId: "bench-publisher" });
  const counts = { force_batches: 0, force_samples: 0, state: 0, event: 0 };
  const t0 = Date.now();
  const pub = (topic, doc, o) => c.publish(prefix + "/" + topic, JSON.stringify(doc), o || { qos: 0 });
  const iso = (ms) => new Date(ms).toISOString();

  function where(s, now) {
    const e = (now - t0 + s.offset) % CYCLE, cyc = Math.floor((now - t0 + s.offset) / CYCLE);
    let a = 0;
    for (let k = 0; k < PHASES.length; k++) {
      if (e < a + PHASES[k][1]) return { k, into: e - a, left: a + PHASES[k][1] - e, cyc };
      a += PHASES[k][1];
    }
  }
  function force(s, ms) {
    const w = where(s, ms), name = PHASES[w.k][0];
    if (name === "pressing") return 60 * w.into / 1000;
    if (name === "hold") return 60 + 8 * Math.sin(ms / 300 + s.i) + (w.cyc % 4 === 0 && w.into > 2000 && w.into < 2600 ? 220 : 0);
    if (name === "release") return Math.max(0, 60 * (1 - w.into / 800));
    return 0;
  }
  function state(s, now) {
    const w = where(s, now), name = PHASES[w.k][0], f = force(s, now);
    const step = w.cyc % 12;
    const counting = name === "hold" || name === "rest";
    counts.state++;
    pub(`${s.hub}/${s.name}/state`, {
      state: name, session_id: "b".repeat(24) + String(s.i).padStart(8, "0"), athlete: "athlete-" + s.i, protocol: "back-12",
      step, steps_total: 12, point: "back-" + String(step + 1).padStart(2, "0"), label: "Back point " + (step + 1), side: step % 2 ? "left" : "right",
      muscle: null, instruction: "Lie on the ball at point " + (step + 1) + ".", prompt: "Hold the pressure", rep: 1,
      remaining_ms: counting ? Math.round(w.left) : null, force_n: Math.round(f * 10) / 10, tool_connected: true,
      warnings: f > 250 ? ["over_force"] : [], release_reason: name === "release" ? "done" : null, tap_counts: false,
      target_hold_ms: 6000, target_min_n: 20, target_max_n: 200, safety_max_n: 250,
      next: { kind: "point", step: step + 1, point: "back-" + String(step + 2).padStart(2, "0"), label: "Back point " + (step + 2), side: "right" },
      safety_notice: "Self-treatment for muscle knots, not a diagnosis.", at: iso(now),
    }, { qos: 0, retain: true });
    return w;
  }
  const EVENT = { pressing: "press", hold: "hold_start", release: "release_cue", rest: "released", point: "step" };

  c.on("connect", () => {
    const now = Date.now();
    for (const h of hubs) {
      pub(`${h.name}/status`, { state: "online", version: "0.1.0", started_at: iso(t0), hub: h.name, stations: h.stations, spool: 0, spool_max: 20000,
        backlog: 0, links: h.stations.length, links_max: h.stations.length, uptime_s: 3600, clock_synced: true,
        protocols: [{ name: "back-12", title: "Back", steps: 12 }] }, { qos: 1, retain: true });
      pub(`${h.name}/meta`, { schema: 1, hub: h.name, version: "0.1.0", stations: h.stations.map((n) => ({ name: n, protocol: "back-12", protocols: ["back-12"] })),
        protocols: [], at: iso(now) }, { qos: 1, retain: true });
    }
    for (const s of st) {
      pub(`${s.hub}/tools/${s.addr}`, { type: "progressor", name: "Progressor_" + s.i, connected: true, battery: null, battery_mv: 3900, rssi: -60,
        last_seen: iso(now), zero_n: 4.0, zero: "ok" }, { qos: 1, retain: true });
      s.phase = state(s, now).k;
      s.lastState = now;
      s.next = now;  // the first sample of the next batch
    }
    // force: every 100 ms a batch of the samples since the last one (8 at 80 Hz)
    setInterval(() => {
      const now = Date.now();
      for (const s of st) {
        const f = [];
        s.first = s.next;
        while (s.next <= now && f.length < 128) { f.push(Math.round(force(s, s.next) * 10) / 10); s.next += dt; }
        if (!f.length) continue;
        pub(`${s.hub}/${s.name}/force`, { seq: s.seq++, t: iso(s.first), dt_ms: dt, force_n: f });
        counts.force_batches++;
        counts.force_samples += f.length;
      }
    }, 100);
    // state at every transition, at 4 Hz while counting down; events at transitions
    setInterval(() => {
      const now = Date.now();
      for (const s of st) {
        const w = where(s, now), name = PHASES[w.k][0];
        if (w.k !== s.phase) {
          s.phase = w.k;
          state(s, now);
          s.lastState = now;
          counts.event++;
          pub(`${s.hub}/${s.name}/event`, { type: EVENT[name], station: s.name, session_id: "b".repeat(24) + String(s.i).padStart(8, "0"),
            step: w.cyc % 12, point: "back-01", label: "Back point", rep: 1, value: name === "rest" ? 1200 : null, at: iso(now) }, { qos: 1 });
        } else if ((name === "hold" || name === "rest") && now - s.lastState >= 250) {
          state(s, now);
          s.lastState = now;
        }
      }
    }, 25);
    process.send({ ready: true });
  });
  process.on("message", (m) => {
    if (m.stop) c.end(false, {}, () => { process.send({ counts }); process.exit(0); });
  });
}

// ------------------------------------------------------------------ the measurement (parent)

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

function waitPort(port, ms) {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tryOnce = () => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => { s.destroy(); resolve(); });
      s.once("error", () => { s.destroy(); Date.now() > end ? reject(new Error("mosquitto did not listen on " + port)) : setTimeout(tryOnce, 50); });
    };
    tryOnce();
  });
}

// CPU time (ns) of the browser: schedstat of every thread of every process under the
// chromium that playwright started (a child of this process)
function treeCpuNs(self) {
  const kids = {};
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const st = readFileSync(`/proc/${p}/stat`, "utf8");
      const ppid = Number(st.slice(st.lastIndexOf(")") + 2).split(" ")[1]);
      (kids[ppid] = kids[ppid] || []).push(Number(p));
    } catch { /* gone */ }
  }
  let ns = 0;
  const walk = (pid) => {
    try {
      for (const t of readdirSync(`/proc/${pid}/task`))
        try { ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, "utf8").split(" ")[0]); } catch { /* gone */ }
    } catch { return; }
    for (const k of kids[pid] || []) walk(k);
  };
  for (const k of kids[self] || [])
    try { if (/^chrom/.test(readFileSync(`/proc/${k}/comm`, "utf8"))) walk(k); } catch { /* gone */ }
  return ns;
}

// runs in the page before its scripts: frames per wall-clock second and long tasks
function pageProbe() {
  window.__bench = { frames: [], long: [], t0: null };
  const b = window.__bench;
  const frame = (ts) => {
    if (b.t0 !== null) {
      const sec = Math.floor((ts - b.t0) / 1000);
      if (sec >= 0) b.frames[sec] = (b.frames[sec] || 0) + 1;
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  new PerformanceObserver((l) => { for (const e of l.getEntries()) b.long.push([e.startTime, e.duration]); }).observe({ type: "longtask", buffered: true });
}

function median(a) {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : null;
}

async function measure() {
  const require = createRequire(path.join(O.playwrightNpm, "package.json"));
  const { chromium } = require("playwright-core");
  const dir = mkdtempSync(path.join(os.tmpdir(), "tphub-dbench-"));
  const port = await freePort(), wsport = await freePort();
  const pass = randomBytes(12).toString("hex");
  execFileSync("mosquitto_passwd", ["-b", "-c", path.join(dir, "passwd"), "bench", pass]);
  // mosquitto's websockets listener binds every interface whatever it is told: a password
  writeFileSync(path.join(dir, "mosquitto.conf"), [
    "per_listener_settings true", "persistence false", ...(process.getuid() === 0 ? ["user root"] : []),
    `listener ${port} 127.0.0.1`, "allow_anonymous true",
    `listener ${wsport}`, "protocol websockets", `http_dir ${path.resolve(O.www)}`, "allow_anonymous false",
    `password_file ${path.join(dir, "passwd")}`, ""].join("\n"));
  const broker = spawn("mosquitto", ["-c", path.join(dir, "mosquitto.conf")], { stdio: "ignore" });
  let pubp = null, browser = null;
  const cleanup = async () => {
    if (browser) await browser.close().catch(() => {});
    if (pubp && pubp.exitCode === null) pubp.kill("SIGTERM");
    if (broker.exitCode === null) { const d = new Promise((r) => broker.once("exit", r)); broker.kill("SIGTERM"); await d; }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitPort(port, 10000);
    await waitPort(wsport, 10000);
    pubp = fork(fileURLToPath(import.meta.url), ["--publish", "--port", String(port), "--stations", String(O.stations), "--hubs", String(O.hubs),
      "--rate", String(O.rate), "--mqtt-npm", O.mqttNpm], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const msg = (pred) => new Promise((resolve, reject) => {
      const on = (m) => { if (pred(m)) { pubp.off("message", on); resolve(m); } };
      pubp.on("message", on);
      pubp.once("exit", (c) => reject(new Error("publisher exited with " + c)));
    });
    await msg((m) => m.ready);

    browser = await chromium.launch({ executablePath: O.chromium,
      args: ["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--enable-precise-memory-info"] });
    const ctx = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
    await ctx.addInitScript(pageProbe);
    const page = await ctx.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const cdp = await ctx.newCDPSession(page);
    await cdp.send("Performance.enable", { timeDomain: "timeTicks" });
    const metrics = async () => Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]));
    await page.goto(`http://127.0.0.1:${wsport}/index.html?user=bench&pass=${pass}`);
    await page.waitForSelector("#conn[data-state=connected]", { timeout: 30000 });
    await page.waitForFunction((n) => document.querySelectorAll(".tile").length >= n &&
      [...document.querySelectorAll(".tile .plot")].every((p) => Number(p.dataset.samples) > 0), O.stations, { timeout: 30000 });
    await new Promise((r) => setTimeout(r, O.warmup * 1000));

    // the window: frames and long tasks from now, metrics and CPU now and at the end
    const samples0 = await page.evaluate(() => [...document.querySelectorAll(".tile .plot")].reduce((a, p) => a + Number(p.dataset.samples), 0));
    await page.evaluate(() => { window.__bench.t0 = performance.now(); window.__bench.long = []; window.__bench.frames = []; });
    const m0 = await metrics(), cpu0 = treeCpuNs(process.pid), wall0 = process.hrtime.bigint();
    const heap = [m0.JSHeapUsedSize];
    const nodes = [m0.Nodes];
    const end = Date.now() + O.seconds * 1000;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, Math.min(1000, end - Date.now())));
      const m = await metrics();
      heap.push(m.JSHeapUsedSize);
      nodes.push(m.Nodes);
    }
    const m1 = await metrics(), cpu1 = treeCpuNs(process.pid), wall = Number(process.hrtime.bigint() - wall0) / 1e9;
    heap.push(m1.JSHeapUsedSize);
    nodes.push(m1.Nodes);
    const b = await page.evaluate(() => ({ frames: window.__bench.frames, long: window.__bench.long }));
    const perStation = await page.evaluate(() => [...document.querySelectorAll(".tile")].map((t) => ({
      station: t.dataset.hub + "/" + t.dataset.station, samples: Number(t.querySelector(".plot").dataset.samples) })));
    const samples1 = perStation.reduce((a, s) => a + s.samples, 0);
    if (O.screenshot) await page.screenshot({ path: O.screenshot });
    const done = msg((m) => m.counts);
    pubp.send({ stop: true });
    const counts = (await done).counts;

    const full = b.frames.slice(0, Math.floor(O.seconds)).map((x) => x || 0); // whole seconds only
    const lt = b.long.map((l) => l[1]);
    const r = (x, d = 1) => x === null || x === undefined ? null : Math.round(x * 10 ** d) / 10 ** d;
    const res = {
      stations: O.stations, hubs: O.hubs, seconds: O.seconds, rate_hz: O.rate, viewport: "1920x1080",
      fps: { median: median(full), worst_second: full.length ? Math.min(...full) : null, seconds: full.length, per_second: full },
      long_tasks: { count: lt.length, total_ms: r(lt.reduce((a, x) => a + x, 0)), max_ms: r(lt.length ? Math.max(...lt) : 0) },
      heap_mb: { start: r(m0.JSHeapUsedSize / 1048576, 2), end: r(m1.JSHeapUsedSize / 1048576, 2), peak: r(Math.max(...heap) / 1048576, 2),
                 total_end: r(m1.JSHeapTotalSize / 1048576, 2) },
      dom_nodes: { start: m0.Nodes, end: m1.Nodes, peak: Math.max(...nodes) },
      main_thread: { task_s: r(m1.TaskDuration - m0.TaskDuration, 3), script_s: r(m1.ScriptDuration - m0.ScriptDuration, 3),
                     layout_s: r(m1.LayoutDuration - m0.LayoutDuration, 3), style_s: r(m1.RecalcStyleDuration - m0.RecalcStyleDuration, 3),
                     busy_pct: r((m1.TaskDuration - m0.TaskDuration) / wall * 100) },
      browser_cpu_pct: r((cpu1 - cpu0) / 1e9 / wall * 100),
      received: { samples_in_window: samples1 - samples0, expected_in_window: Math.round(O.stations * O.rate * wall), samples_total: samples1, per_station_min: Math.min(...perStation.map((s) => s.samples)),
                  tiles: perStation.length },
      published: counts,
      load_at_start: os.loadavg()[0],
      page_errors: errors,
    };
    const bad = [];
    if (perStation.length < O.stations) bad.push(`only ${perStation.length} of ${O.stations} tiles`);
    if (!(res.received.samples_in_window > 0)) bad.push("no force samples reached the page during the window");
    if (res.received.per_station_min <= 0) bad.push("a station received no force samples");
    if (!full.length || !(res.fps.median > 0)) bad.push("no animation frames counted");
    if (errors.length) bad.push("page errors: " + errors.join("; "));
    res.failures = bad;
    return res;
  } finally {
    await cleanup();
  }
}

if (O.publish) publisher();
else {
  measure().then((res) => {
    const text = JSON.stringify(res, null, 1);
    if (O.out) writeFileSync(O.out, text + "\n");
    process.stdout.write(text + "\n");
    process.exit(res.failures.length ? 1 : 0);
  }, (e) => { console.error("bench-dashboard: " + (e && e.stack || e)); process.exit(1); });
}
