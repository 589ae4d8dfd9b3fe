// SPDX-License-Identifier: MIT
// The dashboard in a real browser (Debian's chromium through playwright-core) against the
// demo stack (scripts/demo.sh --stay: the real tphubd, two stations, simulated tools and
// athletes, mosquitto serving the pages). Everything is asserted from the page. Any request
// to a non-loopback address fails the test.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { readFileSync, existsSync } from "node:fs";
import path from "node:path";

const SRC = process.env.TPHUB_SRC, BUILD = process.env.TPHUB_BUILD, OUT = process.env.TPHUB_OUT;
const require = createRequire(path.join(process.env.TPHUB_NPM, "package.json"));
const { chromium } = require("playwright-core");

let demo, demoOut = "", info = {}, browser, broker = null, violations = [];
const HUB = "demo-hub";

function loopback(host) {
  return host === "127.0.0.1" || host === "localhost" || host === "[::1]" || host === "::1" || /^127\./.test(host);
}

// The first label of a shipped protocol file: what the athlete view must show first.
function firstLabel(protocol) {
  const text = readFileSync(path.join(SRC, "config/protocols", protocol + ".conf"), "utf8");
  return text.match(/^\s*label = "([^"]*)";/m)[1];
}

function waitForLine(re, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("demo never printed " + re + "; output:\n" + demoOut)), ms);
    const check = () => {
      const m = demoOut.match(re);
      if (m) { clearTimeout(timer); demo.stdout.off("data", check); resolve(m); }
    };
    demo.stdout.on("data", check);
    check();
  });
}

function pub(topic, doc) {
  execFileSync("mosquitto_pub", ["-h", "127.0.0.1", "-p", info.port, "-q", "1", "-t", topic, "-m", JSON.stringify(doc)]);
}

// Records every change of the attention list: which kinds for which station or hub were
// present, so transient alarms are seen even when they come and go between two checks.
function recordAttention() {
  window.__attention = [];
  document.addEventListener("DOMContentLoaded", () => {
    const ul = document.querySelector("#attention ul");
    const snap = () => {
      const items = [...ul.querySelectorAll("li[data-kind]")].map((li) => li.dataset.kind + "@" + (li.dataset.station || li.dataset.hub));
      const last = window.__attention[window.__attention.length - 1];
      if (!last || last.join() !== items.join()) window.__attention.push(items);
    };
    new MutationObserver(snap).observe(ul, { childList: true, subtree: true });
    snap();
  });
}

async function newContext(opts) {
  const ctx = await browser.newContext(opts);
  await ctx.route("**/*", (route) => {
    const u = new URL(route.request().url());
    if (!loopback(u.hostname)) {
      violations.push(u.href);
      return route.abort();
    }
    return route.continue();
  });
  ctx.on("page", (p) => p.on("websocket", (ws) => {
    const u = new URL(ws.url());
    if (!loopback(u.hostname)) violations.push(u.href);
  }));
  return ctx;
}

before(async () => {
  demo = spawn(path.join(SRC, "scripts/demo.sh"), ["--stay"], {
    env: { ...process.env, TPHUB_BUILD_DIR: BUILD },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  demo.stdout.setEncoding("utf8");
  demo.stdout.on("data", (d) => { demoOut += d; });
  demo.stderr.setEncoding("utf8");
  demo.stderr.on("data", (d) => { demoOut += d; });
  info.coach = (await waitForLine(/^== dashboard: (\S+)$/m, 60000))[1];
  info.athlete = (await waitForLine(/^== athlete view: (\S+)$/m, 5000))[1];
  const m = await waitForLine(/^== MQTT on 127\.0\.0\.1:(\d+); the daemon's log is in (\S+)\/tphubd\.log$/m, 5000);
  info.port = m[1];
  info.run = m[2];
  browser = await chromium.launch({
    executablePath: process.env.TPHUB_CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (broker && broker.exitCode === null) {  // the broker this test restarted
    const done = new Promise((r) => broker.once("exit", r));
    broker.kill("SIGTERM");
    await done;
  }
  if (demo && demo.exitCode === null) {
    // Ctrl-C, as on a terminal: SIGINT to the demo's whole process group
    const done = new Promise((r) => demo.once("exit", r));
    process.kill(-demo.pid, "SIGINT");
    await done;
    // and it left nothing running: no process of its group, none using its run directory
    // (a zombie has exited already: only its parent's bookkeeping is left)
    const left = execFileSync("ps", ["-eo", "pgid=,pid=,stat=,args="]).toString().split("\n").filter((l) => {
      const [pgid, , stat] = l.trim().split(/\s+/);
      return l.trim() && !stat.startsWith("Z") && (Number(pgid) === demo.pid || (info.run && l.includes(info.run)));
    });
    assert.deepEqual(left, [], "processes left running after Ctrl-C");
    if (info.run) assert.equal(existsSync(info.run), false, "the demo's run directory is left");
  }
  assert.deepEqual(violations, [], "requests to non-loopback addresses");
});

test("coach view and athlete view on the demo stack", { timeout: 240000 }, async (t) => {
  const ctx = await newContext({ viewport: { width: 1400, height: 1000 } });
  await ctx.addInitScript(recordAttention);
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(info.coach);
  const tile = (s) => page.locator(`.tile[data-hub="${HUB}"][data-station="${s}"]`);

  await t.test("both stations appear", async () => {
    await tile("bench-1").waitFor({ timeout: 30000 });
    await tile("bench-2").waitFor({ timeout: 30000 });
    await page.waitForSelector("#conn[data-state=connected]");
  });

  await t.test("a countdown decreases", async () => {
    const h = await page.waitForFunction(() => {
      for (const c of document.querySelectorAll(".tile .countdown"))
        if (c.dataset.ms && Number(c.dataset.ms) > 1500)
          return { station: c.closest(".tile").dataset.station, state: c.closest(".tile").dataset.state, ms: Number(c.dataset.ms) };
      return null;
    }, null, { timeout: 60000 });
    const first = await h.jsonValue();
    // the same countdown, in the same state, lower by at least 0.5 s: it moved
    await page.waitForFunction((f) => {
      const el = document.querySelector(`.tile[data-station="${f.station}"]`);
      const ms = Number(el.querySelector(".countdown").dataset.ms);
      return el.dataset.state === f.state && el.querySelector(".countdown").dataset.ms !== "" && ms < f.ms - 500;
    }, first, { timeout: 5000 });
  });

  await t.test("the force trace draws", async () => {
    // samples arrive in batches at the tool's rate (80 Hz): seconds of them are in the trace
    await page.waitForFunction(() => [...document.querySelectorAll(".tile .plot")].every((p) => Number(p.dataset.samples) > 160), null, { timeout: 30000 });
    // and the line is on the canvas: pixels in the series colour (#4cf)
    await page.waitForFunction(() => {
      const c = document.querySelector('.tile[data-station="bench-2"] .plot canvas');
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - 0x44) < 24 && Math.abs(d[i + 1] - 0xcc) < 24 && d[i + 2] > 220) n++;
      return n > 100;
    }, null, { timeout: 10000 });
  });

  await t.test("the over-force alarm appears and clears", async () => {
    const k = `over_force@${HUB}/bench-2`;
    // the README's picture: the alarm on screen (when this step starts in time to see it;
    // the assertions below use the page's record and do not depend on it)
    const shown = await page.waitForSelector("#attention li[data-kind=over_force]", { timeout: 30000 }).catch(() => null);
    if (shown) await page.screenshot({ path: path.join(OUT, "coach-alarm.png") });
    await page.waitForFunction((k) => window.__attention.some((s) => s.includes(k)), k, { timeout: 60000 });
    await page.waitForFunction((k) => {
      const i = window.__attention.findIndex((s) => s.includes(k));
      return window.__attention.slice(i).some((s) => !s.includes(k));
    }, k, { timeout: 10000 });
    await page.screenshot({ path: path.join(OUT, "coach.png") });
  });

  await t.test("the tool drop shows", async () => {
    const k = `tool_lost@${HUB}/bench-2`;
    await page.waitForFunction((k) => window.__attention.some((s) => s.includes(k)), k, { timeout: 60000 });
    // the equipment table saw the tool disconnected, then connected again
    await page.waitForSelector('#tools tr[data-tool="C8:00:00:00:00:02"][data-connected="true"]', { timeout: 30000 });
  });

  await t.test("a session appears once even when published twice", async () => {
    const id = "b" + "0".repeat(30) + "1";
    const doc = {
      id, hub: HUB, station: "bench-1", athlete: "dup-test", protocol: "back-12", status: "completed",
      started_at: "2026-01-01T10:00:00.000Z", ended_at: "2026-01-01T10:01:00.000Z", duration_ms: 60000, steps: [],
    };
    pub(`tphub/${HUB}/bench-1/session`, doc);
    pub(`tphub/${HUB}/bench-1/session`, doc);
    // a third, different session after both: once it is shown, both copies were handled
    const marker = { ...doc, id: "c" + "0".repeat(30) + "2", athlete: "marker" };
    pub(`tphub/${HUB}/bench-1/session`, marker);
    await page.waitForSelector(`#sessions tr[data-id="${marker.id}"]`, { timeout: 10000 });
    assert.equal(await page.locator(`#sessions tr[data-id="${id}"]`).count(), 1);
  });

  await t.test("athlete view at 390x844 starts a session and follows the state", async () => {
    // bench-2's scripted athlete stops his session: the station is free
    await page.waitForSelector('#sessions tr.session-row:has(td:text-is("ben"))', { timeout: 90000 });
    await tile("bench-2").and(page.locator('[data-state="idle"]')).waitFor({ timeout: 30000 });
    const phone = await newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const ap = await phone.newPage();
    ap.on("pageerror", (e) => errors.push(String(e)));
    await ap.goto(info.athlete);
    await ap.waitForSelector("#conn[data-state=connected]");
    await ap.waitForSelector('#protocol option[value="ppt"]', { state: "attached" });
    await ap.fill("#athlete", "cleo");
    await ap.selectOption("#protocol", "ppt");
    await ap.click("#startbtn");
    await ap.waitForFunction(() => document.getElementById("reply").textContent === "ok", null, { timeout: 10000 });
    await ap.waitForSelector("body[data-state=point]", { timeout: 10000 });
    assert.equal(await ap.textContent("#label"), firstLabel("ppt"));
    // the coach sees the same session
    await page.waitForFunction(() => /cleo · ppt/.test(document.querySelector('.tile[data-station="bench-2"] .who').textContent));
    await ap.screenshot({ path: path.join(OUT, "athlete.png") });
    await ap.click("#stop");
    await ap.waitForSelector("body[data-state=idle]", { timeout: 10000 });
    await phone.close();
  });

  await t.test("a command's exact error is shown", async () => {
    await tile("bench-2").locator('button[data-cmd="skip"]').click();
    // docs/mqtt.md: skip while idle is refused with exactly this
    await page.waitForFunction(() => document.querySelector('.tile[data-station="bench-2"] .reply').textContent === "error: no session is running");
  });

  await t.test("session detail: reps, PPT thresholds, before and after treatment", async () => {
    const base = { hub: HUB, station: "bench-1", athlete: "dana", duration_ms: 60000 };
    const ppt = (id, at, means) => ({
      ...base, id, protocol: "ppt", status: "completed", started_at: at, ended_at: at,
      steps: means.map((m, i) => ({
        point: "site-" + i, label: "Site " + i, side: "left", muscle: null, kind: "measure", target_hold_ms: 0,
        threshold_mean_n: m, reps: [{ outcome: "measured", attempt: 1, threshold_n: m }],
      })),
    });
    const before = ppt("d".repeat(32), "2026-01-01T09:00:00.000Z", [30, 40]);
    const treatment = {
      ...base, id: "e".repeat(32), protocol: "glute-tpt", status: "completed", started_at: "2026-01-01T09:10:00.000Z",
      ended_at: "2026-01-01T09:20:00.000Z",
      steps: [{ point: "p", label: "Left gluteus medius", side: "left", muscle: null, kind: "press", target_hold_ms: 20000,
        reps: [{ outcome: "completed", attempt: 1, hold_ms: 12000, release_ms: 2500, release_too_fast: false, over_hold: false,
          over_force_warnings: 1, force_mean_n: 80, force_peak_n: 95 }] }],
    };
    const afterS = ppt("f".repeat(32), "2026-01-01T09:30:00.000Z", [36, 38]);
    for (const d of [before, treatment, afterS]) pub(`tphub/${HUB}/bench-1/session`, d);
    await page.click(`#sessions tr[data-id="${treatment.id}"]`);
    const rep = page.locator("#detail table.detail-reps tbody tr").first();
    assert.deepEqual(await rep.locator("td").allTextContents(),
      ["Left gluteus medius (left)", "1", "completed", "12.0 s / 20.0 s", "2.5 s", "1× over force", "80.0 N / 95.0 N"]);
    // the detail leads to the athlete's history page (history.test.mjs covers that page)
    const link = new URL(await page.getAttribute("#detail a.athlete-history", "href"));
    assert.equal(link.pathname + "?" + link.searchParams, "/history.html?athlete=dana");
    await page.click(`#sessions tr[data-id="${afterS.id}"]`);
    const rows = await page.locator("#detail table.ppt-compare tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    // change = (after - before) / before, per point
    assert.deepEqual(rows, [0, 1].map((i) => {
      const b = before.steps[i].threshold_mean_n, a = afterS.steps[i].threshold_mean_n;
      return ["Site " + i, b.toFixed(1) + " N", a.toFixed(1) + " N", ((a - b) / b * 100).toFixed(0) + " %"];
    }));
  });

  await t.test("a session's detail leads to the athlete's history (the demo's recorder)", async () => {
    const doc = {
      id: "a" + "b".repeat(31), hub: HUB, station: "bench-1", athlete: "hana", protocol: "glute-tpt",
      safety_notice: "Stop if the pain is sharp.", status: "completed", started_at: "2026-02-02T10:00:00.000Z",
      ended_at: "2026-02-02T10:10:00.000Z", duration_ms: 600000,
      steps: [{ point: "glute-med-left", label: "Left gluteus medius", side: "left", muscle: null, kind: "press", target_hold_ms: 20000,
        reps: [{ outcome: "completed", attempt: 1, started_ms: 0, hold_started_ms: 4000, hold_ms: 15000, release_ms: 3000,
          release_too_fast: false, over_hold: false, over_force_warnings: 0, force_mean_n: 70, force_peak_n: 82 }] }],
    };
    pub(`tphub/${HUB}/bench-1/session`, doc);
    // the coach has it; the recorder got it before any query that follows (one broker, in order)
    await page.click(`#sessions tr[data-id="${doc.id}"]`);
    const hctx = await newContext({ viewport: { width: 1280, height: 900 } });   // without the attention recorder
    const hp = await hctx.newPage();
    hp.on("pageerror", (e) => errors.push(String(e)));
    await hp.goto(info.coach);   // the same tab's credentials (sessionStorage), as a coach's own tab has them
    await hp.waitForSelector("#conn[data-state=connected]");
    await hp.goto(await page.getAttribute("#detail a.athlete-history", "href"));
    await hp.waitForSelector("body[data-loaded=true]", { timeout: 20000 });
    assert.equal(await hp.getAttribute("body", "data-sessions"), "1");
    assert.deepEqual(await hp.locator("#sessions tbody tr").evaluateAll((trs) => trs.map((tr) => tr.dataset.id)), [doc.id]);
    const r = doc.steps[0].reps[0];
    assert.deepEqual(await hp.locator("#trends tbody tr").first().locator("td").allTextContents(),
      ["glute-med-left", "left", "1", (r.hold_ms / 1000).toFixed(1) + " s", (r.hold_ms / 1000).toFixed(1) + " s", "–",
       (r.release_ms / 1000).toFixed(1) + " s", (r.release_ms / 1000).toFixed(1) + " s", "–", "–", "–"]);
    await hctx.close();
  });

  await t.test("the coach view fits a 320 px phone and has a wall mode", async () => {
    const small = await newContext({ viewport: { width: 320, height: 640 }, isMobile: true });
    const sp = await small.newPage();
    await sp.goto(info.coach);
    await sp.locator('.tile[data-station="bench-2"] .plot canvas').waitFor();
    // opened late: the station's last session (cleo's, stopped above) comes from the retained summary
    await sp.waitForFunction(() => /last session: cleo, ppt, aborted/.test(
      document.querySelector('.tile[data-station="bench-2"] .last').textContent));
    // nothing wider than the screen: no sideways scrolling of the page
    assert.equal(await sp.evaluate(() => document.scrollingElement.scrollWidth), 320);
    await sp.click("#wall");
    assert.equal(await sp.evaluate(() => document.body.classList.contains("wall")), true);
    assert.equal(await sp.locator("#equipment").isVisible(), false);
    await small.close();
  });

  await t.test("the cue fields of a state are shown when the hub sends them", async () => {
    // a state with every optional field (docs/dashboard.md), from another hub
    const st = {
      state: "pressing", session_id: "a".repeat(32), athlete: "eve", protocol: "glute-tpt", step: 0, steps_total: 12,
      point: "glute-med-left", label: "Left gluteus medius", side: "left", muscle: "gluteus medius",
      instruction: "Upper outer left buttock.", prompt: "Press and tap on the sorest spot", rep: 1, remaining_ms: null,
      force_n: 55.5, tool_connected: true, warnings: [], target_min_n: 20, target_max_n: 200, safety_max_n: 300,
      target_hold_ms: 20000, tap_counts: true, release_reason: null,
      next: { kind: "press", step: 1, point: "glute-med-right", label: "Right gluteus medius", side: "right" },
      safety_notice: "Stop if the pain is sharp and spreading.", at: new Date().toISOString(),
    };
    const u = new URL(info.athlete);
    u.searchParams.set("hub", "gym-c");
    u.searchParams.set("station", "s9");
    const phone = await newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
    const ap = await phone.newPage();
    await ap.goto(u.href);
    await ap.waitForSelector("#conn[data-state=connected]");
    pub("tphub/gym-c/s9/state", st);
    await ap.waitForSelector("body[data-state=pressing]");
    assert.equal(await ap.textContent("#prompt"), st.prompt);
    assert.equal(await ap.textContent("#label"), st.label);
    assert.equal(await ap.textContent("#side"), st.side);
    assert.equal(await ap.textContent("#instruction"), st.instruction);
    assert.equal(await ap.textContent("#next"), "Next: Right gluteus medius (right)");
    assert.equal(await ap.textContent("#notice"), st.safety_notice);
    assert.equal(await ap.isVisible("#band"), true);
    await ap.screenshot({ path: path.join(OUT, "athlete-cues.png") });
    await phone.close();
    const t9 = page.locator('.tile[data-hub="gym-c"][data-station="s9"]');
    await t9.waitFor();
    assert.equal(await t9.locator(".point").textContent(), "step 1/12 Left gluteus medius (left) rep 1");
  });

  await t.test("the page recovers by itself after a broker restart", async () => {
    const conf = path.join(info.run, "mosquitto.conf");
    const old = Number(readFileSync(path.join(info.run, "mosquitto.pid"), "utf8"));
    process.kill(old, "SIGTERM");
    await page.waitForSelector("#conn:not([data-state=connected])", { timeout: 10000 });
    broker = spawn("mosquitto", ["-c", conf], { stdio: "ignore" });
    await page.waitForSelector("#conn[data-state=connected]", { timeout: 30000 });
    // on reconnecting the page forgets what it knew of the hubs until they speak again: the
    // hub's own reconnect (its status, published anew on the restarted broker) makes it online
    await page.waitForFunction(() => document.querySelector('#hubs tr[data-hub="demo-hub"] .hub-state').textContent === "online",
      null, { timeout: 60000 });
    assert.match(await tile("bench-1").locator(".badge.hub").textContent(), /online/);
  });

  await t.test("the hub goes offline when its connection dies (last will)", async () => {
    const pid = Number(readFileSync(path.join(info.run, "tphubd.pid"), "utf8"));
    process.kill(pid, "SIGKILL");
    await page.waitForSelector(`#attention li[data-kind=hub_offline][data-hub="${HUB}"]`, { timeout: 30000 });
    assert.match(await tile("bench-1").locator(".badge.hub").textContent(), /offline/);
    // another hub with a backlog and a tool with a low battery: the list is sorted by urgency
    pub("tphub/gym-b/status", { state: "online", hub: "gym-b", stations: [], backlog: 3, spool: 3 });
    pub("tphub/gym-b/tools/AA:00:00:00:00:09", { type: "progressor", name: "P9", connected: true, battery: 10, battery_mv: null, last_seen: null });
    await page.waitForSelector("#attention li[data-kind=spool][data-hub=gym-b]");
    await page.waitForSelector("#attention li[data-kind=low_battery]");
    assert.deepEqual(await page.locator("#attention li").evaluateAll((l) => l.map((li) => li.dataset.kind)),
      ["hub_offline", "low_battery", "spool"]);
    await page.screenshot({ path: path.join(OUT, "coach-offline.png") });
  });

  assert.deepEqual(errors, [], "page errors");
  await ctx.close();
});
