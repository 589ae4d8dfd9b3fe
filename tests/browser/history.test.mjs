// SPDX-License-Identifier: MIT
// The history pages (dashboard/history.html) in a real browser (Debian's chromium through
// playwright-core) against a real tphub-recorder on SQLite, behind a real mosquitto set up
// exactly as the package ships it (config/mosquitto/enable: users, ACLs, the pages served by
// http_dir). The test publishes session documents it builds itself, as the hub's account,
// and computes every figure it expects from them by the definitions of docs/recorder.md
// (ppt, trends, adherence) and docs/dashboard.md (asymmetry, export); it never reads the
// expected values from the program. More sessions than one page of each paged query.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const SRC = process.env.TPHUB_SRC, BUILD = process.env.TPHUB_BUILD, OUT = process.env.TPHUB_OUT;
const require = createRequire(path.join(process.env.TPHUB_NPM, "package.json"));
const { chromium } = require("playwright-core");

const HUB = "lab", ATHLETE = "m-10472", PAGE = 100, H = 3600000, DAY = 86400000, WEEK = 7 * DAY;
// The browser's clock, fixed: the calendar runs up to "this week" and the summary says how long
// ago the last session was. A Wednesday, two and a half weeks after the last session.
const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);
let tmp, mosq, rec, recLog = "", browser, port, wsport, pw = {}, violations = [];

function loopback(host) {
  return host === "127.0.0.1" || host === "localhost" || host === "[::1]" || host === "::1" || /^127\./.test(host);
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

// Resolves when `re` has appeared in what `get()` returns, fed by `stream`.
function waitFor(stream, get, re, ms, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { stream.off("data", check); reject(new Error(what + " never logged " + re + ":\n" + get())); }, ms);
    function check() {
      const m = get().match(re);
      if (m) { clearTimeout(timer); stream.off("data", check); resolve(m); }
    }
    stream.on("data", check);
    check();
  });
}

// ---- the sessions this test makes (docs/session.md) ----

// A small deterministic generator: the same documents every run.
let seed = 12345;
function rnd() { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; }
function pick(a) { return a[Math.floor(rnd() * a.length)]; }
// Thresholds in quarter newtons: exact in binary, so every mean is the same number whatever
// order a store adds them up in.
function quarter(lo, hi) { return Math.round((lo + rnd() * (hi - lo)) * 4) / 4; }
let nextId = 1;
function id() { return (nextId++).toString(16).padStart(32, "0"); }
function iso(ms) { return new Date(ms).toISOString(); }

function doc(athlete, station, protocol, status, start, durationMs, steps) {
  return { id: id(), hub: HUB, station, athlete, protocol, safety_notice: "Stop if the pain is sharp.", status,
           started_at: iso(start), ended_at: iso(start + durationMs), duration_ms: durationMs, steps };
}

function measureStep(point, side, trials) {
  const reps = trials.map(([outcome, threshold], i) => ({
    outcome, attempt: 1, started_ms: i * 20000, hold_started_ms: i * 20000 + 6000, hold_ms: 300, release_ms: 900,
    release_too_fast: false, over_hold: false, over_force_warnings: 0, force_mean_n: threshold, force_peak_n: threshold + 1,
    threshold_n: threshold, ramp_n_per_s: 5.25,
  }));
  const done = reps.filter((r) => r.outcome === "completed");
  return { point, label: "PPT " + point, side, muscle: "gluteus medius", kind: "measure", target_hold_ms: 0, reps,
           threshold_mean_n: done.length ? done.reduce((a, r) => a + r.threshold_n, 0) / done.length : null };
}

function pressStep(point, side, label, reps) {
  return { point, label, side, muscle: null, kind: "press", target_hold_ms: 20000, reps: reps.map((r, i) => ({
    outcome: r.outcome, attempt: 1, started_ms: i * 40000, hold_started_ms: r.hold === null ? null : i * 40000 + 5000,
    hold_ms: r.hold, release_ms: r.release, release_too_fast: r.release === null ? null : r.release < 2000,
    over_hold: false, over_force_warnings: r.warn || 0, force_mean_n: r.hold === null ? null : 60.5, force_peak_n: r.hold === null ? null : 71,
  })) };
}

const PPT_POINTS = [["ppt-glute-med-left", "left"], ["ppt-glute-med-right", "right"]];
const PRESS_POINTS = [["glute-med-left", "left", "Left gluteus medius, \"upper\" part"], ["glute-med-right", "right", "Right gluteus medius"],
                      ["piriformis-left", "left", "Left piriformis"], ["piriformis-right", "right", "=right piriformis, as a formula would begin"]];

function pptSession(start, trialsOf) {
  return doc(ATHLETE, "bench-2", "ppt", "completed", start, 4 * 60000,
             PPT_POINTS.map(([p, s]) => measureStep(p, s, trialsOf(p))));
}

function randomTrials() {
  const n = 2 + Math.floor(rnd() * 2), t = [];
  for (let i = 0; i < n; i++) t.push([rnd() < 0.15 ? "skipped" : "completed", quarter(25, 60)]);
  return t;
}

function randomRep() {
  const o = pick(["completed", "completed", "completed", "not_released", "early_release", "skipped"]);
  if (o === "skipped" && rnd() < 0.5) return { outcome: o, hold: null, release: null };
  return { outcome: o, hold: 4000 + Math.floor(rnd() * 20000), release: rnd() < 0.15 ? null : 800 + Math.floor(rnd() * 4000), warn: rnd() < 0.1 ? 1 : 0 };
}

function treatment(start, status) {
  const steps = PRESS_POINTS.filter(() => rnd() < 0.85).map(([p, s, l]) => pressStep(p, s, l, [randomRep(), ...(rnd() < 0.4 ? [randomRep()] : [])]));
  return doc(ATHLETE, "bench-1", "glute-tpt", status, start, 10 * 60000 + Math.floor(rnd() * 600000), steps);
}

// Nine active weeks and one without any session (the calendar must show the gap), from
// Monday 2026-09-07. A visit: PPT, treatment 10 min later, PPT after (30 min after, 3 h
// after = outside the 2 h window, or none); sometimes a stretch-only session (no treatment),
// or a treatment whose press reps never completed (not a treatment for PPT pairs).
const MONDAY = Date.UTC(2026, 8, 7);
function makeSessions() {
  const mine = [];
  const days = [3, 5, 4, 0, 2, 5, 5, 3, 4, 5];
  days.forEach((n, w) => {
    for (let d = 0; d < n; d++) {
      let t = MONDAY + w * WEEK + d * DAY + (8 + Math.floor(rnd() * 8)) * H + Math.floor(rnd() * 60) * 60000;
      if (rnd() < 0.8) { const p = pptSession(t, randomTrials); mine.push(p); t = Date.parse(p.ended_at) + 10 * 60000; }
      const status = pick(["completed", "completed", "completed", "aborted", "abandoned"]);
      const tr = treatment(t, status);
      if (rnd() < 0.1) tr.steps.forEach((s) => s.reps.forEach((r) => { r.outcome = "skipped"; }));
      mine.push(tr);
      const after = pick([30 * 60000, 30 * 60000, 3 * H, null]);
      if (after !== null) mine.push(pptSession(Date.parse(tr.ended_at) + after, randomTrials));
      if (rnd() < 0.3)
        mine.push(doc(ATHLETE, "bench-2", "ball-release", "completed", Date.parse(mine[mine.length - 1].ended_at) + 20 * 60000, 5 * 60000, [
          { point: "stretch-glute-med", label: "Stretch", side: "both", muscle: null, kind: "stretch", target_hold_ms: 30000,
            reps: [{ outcome: "completed", attempt: 1, started_ms: 0, hold_started_ms: 0, hold_ms: 30000, release_ms: null,
                     release_too_fast: null, over_hold: false, over_force_warnings: 0, force_mean_n: null, force_peak_n: null }] },
        ]));
    }
  });
  // one session with no rep at all (the export still lists it)
  mine.push(doc(ATHLETE, "bench-1", "glute-tpt", "aborted", MONDAY + 9 * WEEK + 6 * DAY + 20 * H, 15000,
                PRESS_POINTS.map(([p, s, l]) => pressStep(p, s, l, []))));
  return mine;
}

const mine = makeSessions();
const others = [doc("someone-else", "bench-1", "glute-tpt", "completed", MONDAY + 2 * DAY + 9 * H, 600000,
                    [pressStep("glute-med-left", "left", "Left gluteus medius", [{ outcome: "completed", hold: 9000, release: 3000 }])])];
mine.sort((a, b) => a.started_at < b.started_at ? -1 : 1);

// ---- the figures, by the documented definitions ----

const ms = (isoString) => Date.parse(isoString);
const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
const nn = (v) => v === null || v === undefined;
// docs/dashboard.md's display: one decimal (percentages none), differences signed, and one
// that rounds to zero shown as 0 without a sign.
const round = (v, d) => { const s = v.toFixed(d); return Number(s) === 0 ? (0).toFixed(d) : s; };
const fN = (v) => nn(v) ? "–" : round(v, 1) + " N";
const fS = (v) => nn(v) ? "–" : round(v / 1000, 1) + " s";
const sign = (s) => Number(s.split(" ")[0]) > 0 ? "+" + s : s;
const dN = (v) => nn(v) ? "–" : sign(round(v, 1) + " N");
const dS = (v) => nn(v) ? "–" : sign(round(v / 1000, 1) + " s");
const dPct = (v) => nn(v) || !isFinite(v) ? "–" : sign(round(v, 0) + " %");
const minute = (s) => s.slice(0, 10) + " " + s.slice(11, 16);

// docs/recorder.md, ppt: a measurement is a measure step's mean threshold over its completed
// trials; a treatment a session with a completed press rep; before = the latest measurement
// of the point that ended at most 2 h before the treatment started, after = the earliest
// that started at most 2 h after it ended.
function expectedPpt() {
  const m = [];
  for (const d of mine)
    for (const s of d.steps) {
      const done = s.kind === "measure" ? s.reps.filter((r) => r.outcome === "completed") : [];
      if (done.length) m.push({ point: s.point, side: s.side, started: ms(d.started_at), ended: ms(d.ended_at), v: mean(done.map((r) => r.threshold_n)) });
    }
  const rows = new Map();
  for (const t of mine.filter((d) => d.steps.some((s) => s.kind === "press" && s.reps.some((r) => r.outcome === "completed")))) {
    const ts = ms(t.started_at), te = ms(t.ended_at);
    for (const [point] of PPT_POINTS) {
      const b = m.filter((x) => x.point === point && x.ended <= ts && x.ended >= ts - 2 * H).sort((x, y) => y.ended - x.ended)[0];
      const a = m.filter((x) => x.point === point && x.started >= te && x.started <= te + 2 * H).sort((x, y) => x.started - y.started)[0];
      if (!b && !a) continue;
      const change = b && a ? a.v - b.v : null;
      rows.set(t.id + " " + point, [minute(t.started_at), t.protocol, point, (b || a).side, fN(b && b.v), fN(a && a.v), dN(change),
        dPct(change === null ? null : change / b.v * 100)]);
    }
  }
  return rows;
}

// docs/recorder.md, trends: per session and per point and side, the mean over its reps
// (nulls ignored), and the mean threshold of the completed trials.
function trendsOf() {
  const per = new Map(); // "point side" -> [{session, started, hold, release, threshold, kind}] in start order
  for (const d of mine)
    for (const s of d.steps) {
      if (!s.reps.length) continue;
      const k = s.point + "\u0000" + s.side;
      if (!per.has(k)) per.set(k, []);
      const list = per.get(k);
      let row = list.find((r) => r.session === d.id);
      if (!row) list.push(row = { session: d.id, started: d.started_at, kind: s.kind, reps: [] });
      row.reps.push(...s.reps);
    }
  for (const list of per.values())
    for (const r of list) {
      const vals = (f, keep) => r.reps.filter((x) => keep(x) && !nn(x[f])).map((x) => x[f]);
      const avg = (a) => a.length ? mean(a) : null;
      r.hold = avg(vals("hold_ms", () => true));
      r.release = avg(vals("release_ms", () => true));
      r.threshold = r.kind === "measure" ? avg(vals("threshold_n", (x) => x.outcome === "completed")) : null;
    }
  return per;
}

function firstLatest(list, f) {
  const v = list.filter((r) => !nn(r[f])).map((r) => r[f]);
  return v.length ? [v[0], v[v.length - 1], v.length > 1 ? v[v.length - 1] - v[0] : null] : [null, null, null];
}

function expectedTrends() {
  const per = trendsOf(), rows = [];
  for (const k of [...per.keys()].sort()) {
    const list = per.get(k), [point, side] = k.split("\u0000"), measure = list[0].kind === "measure";
    const h = firstLatest(list, "hold"), r = firstLatest(list, "release"), t = firstLatest(list, "threshold");
    rows.push([point, side, String(list.length),
      ...(measure ? ["–", "–", "–", "–", "–", "–", fN(t[0]), fN(t[1])] : [fS(h[0]), fS(h[1]), dS(h[2]), fS(r[0]), fS(r[1]), dS(r[2]), "–", "–"])]);
  }
  return rows;
}

// docs/dashboard.md, asymmetry: a point pair is X-left / X-right; per session with both sides,
// left − right; shown: the latest such session, % of the two sides' mean, the mean difference.
function expectedAsymmetry() {
  const per = trendsOf(), rows = [];
  const bases = [...new Set([...per.keys()].map((k) => k.split("\u0000")[0]).map((p) => /^(.*)-(left|right)$/.exec(p)).filter(Boolean).map((m) => m[1]))].sort();
  for (const base of bases) {
    const L = per.get(base + "-left\u0000left") || [], R = per.get(base + "-right\u0000right") || [];
    const kind = (L[0] || R[0]).kind;
    const metrics = kind === "measure" ? [["threshold", "PPT threshold", fN, dN]] : [["hold", "hold", fS, dS], ["release", "release", fS, dS]];
    for (const [f, label, fmt, diff] of metrics) {
      const both = L.map((l) => [l, R.find((r) => r.session === l.session)]).filter(([l, r]) => r && !nn(l[f]) && !nn(r[f]))
        .sort((a, b) => a[0].started < b[0].started ? -1 : 1);
      if (!both.length) continue;
      const [l, r] = both[both.length - 1];
      rows.push([base + "-left / " + base + "-right", label, String(both.length), l.started.slice(0, 10), fmt(l[f]), fmt(r[f]),
        diff(l[f] - r[f]), dPct((l[f] - r[f]) / ((l[f] + r[f]) / 2) * 100), diff(mean(both.map(([a, b]) => a[f] - b[f])))]);
    }
  }
  return rows;
}

// docs/recorder.md, adherence: per ISO week from Monday 00:00 UTC: sessions, completed
// (status), minutes (the week's summed duration_ms, rounded); the page shows every week from
// the first with a session to this week (NOW's), empty ones as 0.
function expectedWeeks() {
  const w = new Map();
  for (const d of mine) {
    const t = ms(d.started_at), monday = t - ((t - MONDAY) % WEEK + WEEK) % WEEK, k = iso(monday).slice(0, 10);
    const e = w.get(k) || { sessions: 0, completed: 0, ms: 0 };
    e.sessions++;
    if (d.status === "completed") e.completed++;
    e.ms += d.duration_ms;
    w.set(k, e);
  }
  const keys = [...w.keys()].sort(), out = [];
  for (let t = ms(keys[0] + "T00:00:00Z"); t <= NOW; t += WEEK) {
    const e = w.get(iso(t).slice(0, 10)) || { sessions: 0, completed: 0, ms: 0 };
    out.push({ week: iso(t).slice(0, 10), sessions: String(e.sessions), completed: String(e.completed), minutes: String(Math.floor((e.ms + 30000) / 60000)) });
  }
  return out;
}

// docs/dashboard.md, export: one CSV row per rep, these columns; a session without reps one row.
const CSV_COLUMNS = ["session_id", "hub", "station", "athlete", "protocol", "status", "started_at", "ended_at", "duration_ms",
  "step", "point", "label", "side", "muscle", "kind", "target_hold_ms", "threshold_mean_n",
  "rep", "outcome", "attempt", "started_ms", "hold_started_ms", "hold_ms", "release_ms", "release_too_fast", "over_hold",
  "over_force_warnings", "force_mean_n", "force_peak_n", "threshold_n", "ramp_n_per_s"];
function expectedCsv(docs) {
  const str = (v) => nn(v) ? "" : String(v), rows = [];
  for (const d of docs) {
    const head = [d.id, d.hub, d.station, d.athlete, d.protocol, d.status, d.started_at, d.ended_at, d.duration_ms];
    let n = 0;
    d.steps.forEach((s, si) => s.reps.forEach((r, ri) => {
      n++;
      // free text a spreadsheet would run as a formula gets a leading '
      const text = (v) => typeof v === "string" && /^[=+\-@]/.test(v) ? "'" + v : v;
      rows.push([...head, si + 1, s.point, text(s.label), s.side, text(s.muscle), s.kind, s.target_hold_ms, s.threshold_mean_n, ri + 1,
        r.outcome, r.attempt, r.started_ms, r.hold_started_ms, r.hold_ms, r.release_ms, r.release_too_fast, r.over_hold,
        r.over_force_warnings, r.force_mean_n, r.force_peak_n, r.threshold_n, r.ramp_n_per_s].map(str));
    }));
    if (!n) rows.push([...head.map(str), ...Array(CSV_COLUMNS.length - head.length).fill("")]);
  }
  return rows;
}

// RFC 4180, as a spreadsheet reads it: quoted fields may hold commas, quotes ("") and line breaks.
function parseCsv(text) {
  const rows = [];
  let row = [], f = "", q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { f += '"'; i++; }
      else if (c === '"') q = false;
      else f += c;
    } else if (c === '"' && f === "") q = true;
    else if (c === ",") { row.push(f); f = ""; }
    else if (c === "\r" && text[i + 1] === "\n") { row.push(f); rows.push(row); row = []; f = ""; i++; }
    else f += c;
  }
  assert.equal(f + row.join(""), "", "the CSV ends with CRLF");
  return rows;
}

// ---- the lab: the shipped mosquitto configuration, a real recorder ----

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "tphub-history-"));
  const www = path.join(BUILD, "dashboard/dashboard");
  const out = execFileSync(path.join(SRC, "config/mosquitto/enable"), ["--root", tmp, HUB, "bench-1", "bench-2"],
                           { env: { ...process.env, TPHUB_DASHBOARD_DIR: www } }).toString();
  for (const m of out.matchAll(/^created MQTT user (\S+) with password (\S+)$/gm)) pw[m[1]] = m[2];
  port = await freePort();
  wsport = await freePort();
  const conf = path.join(tmp, "etc/mosquitto/conf.d/tphub.conf");
  let c = readFileSync(conf, "utf8").replace(/^listener 1883 127\.0\.0\.1$/m, `listener ${port} 127.0.0.1`).replace(/^listener 9001$/m, `listener ${wsport}`);
  c += "\npersistence false\n" + (process.getuid() === 0 ? "user root\n" : "");
  writeFileSync(conf, c);
  let mosqLog = "";
  mosq = spawn("mosquitto", ["-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
  mosq.stderr.setEncoding("utf8");
  mosq.stderr.on("data", (d) => { mosqLog += d; });
  await waitFor(mosq.stderr, () => mosqLog, /mosquitto version \S+ running/, 10000, "mosquitto");

  const recConf = path.join(tmp, "recorder.conf");
  writeFileSync(recConf, `recorder: {
  mqtt: { uri = "tcp://127.0.0.1:${port}"; client_id = "history-test"; persistent_session = false;
          credentials_file = "${tmp}/etc/tphub/recorder-mqtt.credentials"; };
  store: { sqlite = "${tmp}/recorder.db"; };
  commit_delay_ms = 20;
};
`);
  rec = spawn(path.join(BUILD, "daemon/recorder/tphub-recorder"), ["--verbose", "--config", recConf], { stdio: ["ignore", "pipe", "pipe"] });
  rec.stderr.setEncoding("utf8");
  rec.stderr.on("data", (d) => { recLog += d; });
  await waitFor(rec.stderr, () => recLog, /MQTT: connected/, 20000, "tphub-recorder");

  // The recorder's subscriptions are in place once it answers a query (it subscribes to the
  // sessions before the queries, on one connection): ask, as the coach, until it does.
  const rr = () => { try {
    return execFileSync("mosquitto_rr", ["-h", "127.0.0.1", "-p", String(port), "-V", "5", "-u", "coach", "-P", pw.coach,
      "-t", "tphub-history/query", "-e", "tphub-history/reply/coach/probe", "-W", "1", "-m", '{"query":"adherence","athlete":"probe"}']).toString();
  } catch (e) { return ""; } };
  let answer = "";
  for (let i = 0; i < 20 && !answer; i++) answer = rr();
  assert.match(answer, /"ok":true/, "the recorder answers queries");

  // Every session, as the hub publishes them (QoS 1, its own account), one client per station.
  const all = [...mine, ...others];
  for (const st of ["bench-1", "bench-2"]) {
    const lines = all.filter((d) => d.station === st).map((d) => JSON.stringify(d)).join("\n") + "\n";
    execFileSync("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(port), "-q", "1", "-u", "hub-" + HUB, "-P", pw["hub-" + HUB],
      "-t", `tphub/${HUB}/${st}/session`, "-l"], { input: lines });
  }
  // stored: the recorder says so for each one
  const want = new Set(all.map((d) => d.id));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("not every session was stored:\n" + recLog.slice(-3000))), 60000);
    function check() {
      for (const m of recLog.matchAll(/Session ([0-9a-f]{32}) stored\./g)) want.delete(m[1]);
      if (!want.size) { clearTimeout(timer); rec.stderr.off("data", check); resolve(); }
    }
    rec.stderr.on("data", check);
    check();
  });

  browser = await chromium.launch({
    executablePath: process.env.TPHUB_CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
  });
});

after(async () => {
  if (browser) await browser.close();
  for (const p of [rec, mosq])
    if (p && p.exitCode === null) {
      const done = new Promise((r) => p.once("exit", r));
      p.kill("SIGTERM");
      await done;
    }
  if (rec) {
    assert.equal(rec.exitCode, 0, "the recorder stopped cleanly:\n" + recLog.slice(-2000));
    // nothing refused, no subscription or answer denied by the ACL: no warning but the one
    // about a password on plain TCP (loopback here)
    assert.deepEqual(recLog.split("\n").filter((l) => /^<[0-4]>/.test(l) && !/goes unencrypted/.test(l)), []);
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  assert.deepEqual(violations, [], "requests to non-loopback addresses");
});

async function newPage(viewport) {
  const ctx = await browser.newContext({ viewport, acceptDownloads: true });
  await ctx.route("**/*", (route) => {
    const u = new URL(route.request().url());
    if (!loopback(u.hostname)) { violations.push(u.href); return route.abort(); }
    return route.continue();
  });
  const page = await ctx.newPage();
  await page.clock.setFixedTime(NOW);
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(String(e)));
  return page;
}

function historyUrl(params) {
  const u = new URL(`http://127.0.0.1:${wsport}/history.html`);
  u.searchParams.set("user", "coach");
  u.searchParams.set("pass", pw.coach);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.href;
}

const cells = (page, sel) => page.locator(sel).evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));

test("an athlete's history: trends, PPT, asymmetry, adherence, export", { timeout: 150000 }, async (t) => {
  assert.ok(mine.filter((d) => d.steps.some((s) => s.reps.length)).length > PAGE,
    "more sessions (and more with reps, for trends) than one page: " + mine.length);
  const page = await newPage({ width: 1280, height: 900 });
  await page.goto(historyUrl({ athlete: ATHLETE }));
  await page.waitForSelector("body[data-loaded=true]", { timeout: 30000 });

  await t.test("every session, across pages, and no one else's", async () => {
    assert.equal(await page.locator("body").getAttribute("data-sessions"), String(mine.length));
    assert.deepEqual(await page.locator("#sessions tbody tr").evaluateAll((trs) => trs.map((tr) => tr.dataset.id)), mine.map((d) => d.id));
    const first = mine[0], last = mine[mine.length - 1], done = mine.filter((d) => d.status === "completed").length;
    assert.equal(await page.textContent("#summary"), `${ATHLETE}: ${mine.length} sessions (${done} completed), ` +
      `${first.started_at.slice(0, 10)} to ${last.started_at.slice(0, 10)}; the last ${Math.floor((NOW - ms(last.started_at)) / DAY)} days ago`);
  });

  // the page as it first shows (the README's picture)
  await page.screenshot({ path: path.join(OUT, "history.png") });
  await page.screenshot({ path: path.join(OUT, "history-full.png"), fullPage: true });

  await t.test("PPT before and after each treatment", async () => {
    const want = expectedPpt();
    const got = await page.locator("#ppt tbody tr").evaluateAll((trs) => trs.map((tr) => [tr.dataset.treatment + " " + tr.dataset.point, [...tr.cells].map((c) => c.textContent)]));
    assert.ok(want.size > 10, "enough before/after pairs: " + want.size);
    assert.ok([...want.values()].some((r) => r[4] === "–") && [...want.values()].some((r) => r[5] === "–"), "pairs with one side missing too");
    assert.deepEqual(new Map(got), want);
    assert.equal(await page.locator("#ppt-chart").getAttribute("data-points"), String(new Set([...want.keys()].map((k) => k.split(" ")[0])).size));
  });

  await t.test("hold and release per point and side, first and latest", async () => {
    assert.deepEqual(await cells(page, "#trends tbody tr"), expectedTrends());
    // the chart of the first point has one point per session that worked it
    const per = trendsOf(), first = [...per.keys()].sort()[0];
    assert.equal(await page.locator("#trend-chart").getAttribute("data-points"), String(per.get(first).length));
    assert.ok(await page.locator("#trend-chart canvas").count() > 0);
    // another point: its own sessions (a measure point: its thresholds)
    const keys = [...per.keys()].sort(), k = keys.indexOf("ppt-glute-med-right\u0000right");
    await page.selectOption("#trend-point", { label: "ppt-glute-med-right (right)" });
    assert.equal(await page.locator("#trend-chart").getAttribute("data-points"), String(per.get(keys[k]).length));
    assert.equal(await page.locator("#trend-chart canvas").count(), 1);
    assert.notEqual(per.get(keys[k]).length, per.get(first).length, "the two points differ in sessions");
  });

  await t.test("left/right asymmetry", async () => {
    const want = expectedAsymmetry();
    assert.deepEqual(want.map((r) => r[1]), ["hold", "release", "hold", "release", "PPT threshold"]);
    assert.deepEqual(await cells(page, "#asymmetry tbody tr"), want);
  });

  await t.test("adherence calendar: every week, the empty one too", async () => {
    const want = expectedWeeks();
    assert.ok(want.some((w) => w.sessions === "0"), "a week without sessions");
    assert.deepEqual(want.slice(-2).map((w) => w.sessions), ["0", "0"], "the weeks since the last session");
    assert.deepEqual(await page.locator("#weeks .week").evaluateAll((ws) => ws.map((w) => ({
      week: w.dataset.week, sessions: w.dataset.sessions, completed: w.dataset.completed, minutes: w.dataset.minutes }))), want);
  });

  await t.test("a session's reps on a click", async () => {
    const d = mine.find((x) => x.protocol === "glute-tpt" && x.steps.some((s) => s.reps.length > 1));
    await page.click(`#sessions tr[data-id="${d.id}"]`);
    await page.waitForSelector("#detail table.detail-reps");
    const want = [];
    for (const s of d.steps)
      s.reps.forEach((r, i) => want.push([i === 0 ? s.label + " (" + s.side + ")" : "", String(r.attempt), r.outcome,
        fS(r.hold_ms) + " / " + fS(s.target_hold_ms), fS(r.release_ms), fN(r.force_mean_n) + " / " + fN(r.force_peak_n)]));
    assert.deepEqual(await cells(page, "#detail table.detail-reps tbody tr"), want);
    assert.equal(await page.textContent("#detail h3"), `${minute(d.started_at)} · glute-tpt · ${d.status} · ${HUB} / ${d.station}`);
  });

  await t.test("fits a phone: no sideways scrolling", async () => {
    const phone = await newPage({ width: 390, height: 844 });
    await phone.goto(historyUrl({ athlete: ATHLETE }));
    await phone.waitForSelector("body[data-loaded=true]", { timeout: 30000 });
    assert.equal(await phone.evaluate(() => document.scrollingElement.scrollWidth), 390);
    await phone.screenshot({ path: path.join(OUT, "history-phone.png") });
    assert.deepEqual(phone.errors, []);
    await phone.context().close();
  });

  await t.test("export CSV: one row per rep of every session", async () => {
    const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#export-csv")]);
    assert.equal(dl.suggestedFilename(), `tphub-${ATHLETE}.csv`);
    const rows = parseCsv(readFileSync(await dl.path(), "utf8"));
    assert.deepEqual(rows[0], CSV_COLUMNS);
    assert.deepEqual(rows.slice(1), expectedCsv(mine));
    assert.ok(rows.some((r) => r[11] === "'=right piriformis, as a formula would begin"), "a formula-like label is text");
    assert.ok(rows.some((r) => r[11] === 'Left gluteus medius, "upper" part'), "a label with a comma and quotes");
    await page.waitForFunction((n) => document.getElementById("export-status").textContent === n + " sessions exported as CSV", mine.length);
  });

  await t.test("export JSON: the session documents as published", async () => {
    const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#export-json")]);
    assert.equal(dl.suggestedFilename(), `tphub-${ATHLETE}.json`);
    assert.deepEqual(JSON.parse(readFileSync(await dl.path(), "utf8")), mine);
  });

  await t.test("a date range: only the sessions that started in it", async () => {
    const from = iso(MONDAY + 4 * WEEK).slice(0, 10), to = iso(MONDAY + 5 * WEEK + 6 * DAY).slice(0, 10);
    await page.fill("#from", from);
    await page.fill("#to", to);
    await page.click("#show");
    const inRange = mine.filter((d) => d.started_at >= from && d.started_at < iso(MONDAY + 6 * WEEK));
    await page.waitForFunction((n) => document.body.dataset.loaded === "true" && document.body.dataset.sessions === String(n), inRange.length);
    assert.deepEqual(await page.locator("#sessions tbody tr").evaluateAll((trs) => trs.map((tr) => tr.dataset.id)), inRange.map((d) => d.id));
    assert.deepEqual(await page.locator("#weeks .week").evaluateAll((ws) => ws.map((w) => w.dataset.week)), [from, iso(MONDAY + 5 * WEEK).slice(0, 10)]);
    assert.equal(new URL(page.url()).searchParams.get("from"), from);
    const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#export-json")]);
    assert.deepEqual(JSON.parse(readFileSync(await dl.path(), "utf8")).map((d) => d.id), inRange.map((d) => d.id));
  });

  await t.test("an unknown athlete: nothing, said so", async () => {
    await page.fill("#athlete", "nobody-here");
    await page.fill("#from", "");
    await page.fill("#to", "");
    await page.click("#show");
    await page.waitForFunction(() => document.body.dataset.loaded === "true" && document.body.dataset.sessions === "0");
    assert.equal(await page.textContent("#summary"), "No sessions of nobody-here in this range.");
    assert.equal(await page.isDisabled("#export-csv"), true);
  });

  assert.deepEqual(page.errors, [], "page errors");
  await page.context().close();
});

test("a station's account gets no history", { timeout: 30000 }, async () => {
  const page = await newPage({ width: 390, height: 844 });
  const u = new URL(historyUrl({ athlete: ATHLETE }));
  u.searchParams.set("user", "station-lab-bench-1");
  u.searchParams.set("pass", pw["station-lab-bench-1"]);
  await page.goto(u.href);
  // the broker's ACL refuses its query, and says so (MQTT 5 PUBACK "not authorized"): the page shows it
  await page.waitForSelector("body[data-loaded=error]", { timeout: 10000 });
  assert.equal(await page.textContent("#status"),
    "error: the broker refused the query (Publish error: Not authorized): this user may not query the history");
  assert.equal(await page.locator("#sessions tbody tr").count(), 0);
  await page.context().close();
});
