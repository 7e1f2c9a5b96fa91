// Benchmark of the tablet app (`make bench-app`, against the server `make run` started; not a
// test: it prints figures and asserts nothing about time):
//   1. the app shell's JS + CSS, gzipped (the budget is 200 KB);
//   2. saving an observation (validation, content hash, one strict IndexedDB transaction) with
//      1,000 observations already queued, in Debian's headless Chromium: p50 / p95;
//   3. a sync of 200 queued observations (push + the pull after it) by the app, and by the Go
//      client (`lookfor tablet sync`, gRPC) for 200 of its own, in the same run.
//
// BASE_URL (default http://localhost:8080), GRPC_ADDR (127.0.0.1:9090), COACH
// (riverbend-usd.coach-1), LOOKFOR (bin/lookfor), KEY_DIR (.dev) as `make run` sets them up.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { launch, signIn, viewports } from './lib.mjs';
import { ready, synced } from './app-lib.mjs';

const root = new URL('../../', import.meta.url).pathname;
const COACH = process.env.COACH ?? 'riverbend-usd.coach-1';
const LOOKFOR = process.env.LOOKFOR ?? join(root, 'bin/lookfor');
const KEY_DIR = process.env.KEY_DIR ?? join(root, '.dev');
const GRPC = process.env.GRPC_ADDR ?? '127.0.0.1:9090';
const rows = [];
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.error('load average at start:', load());
const row = (what, value, note = '') => { rows.push([what, value, note]); console.error(`${what}: ${value} ${note}`); };
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };

// 1. Size.
const dist = join(root, 'web/dist/app');
let raw = 0, gz = 0;
for (const f of readdirSync(dist).filter((f) => f.endsWith('.js') || f.endsWith('.css'))) {
  const b = readFileSync(join(dist, f));
  raw += b.length;
  gz += gzipSync(b, { level: 9 }).length;
}
row('app shell JS + CSS (main.js, sw.js, style.css)', `${(gz / 1024).toFixed(1)} KiB gzipped`, `(${(raw / 1024).toFixed(1)} KiB raw; budget 200 KB)`);

const ctx = await launch({ viewport: viewports.landscape });
try {
  const page = await ctx.newPage();
  await signIn(page, COACH, '/app/');
  await ready(page);
  await synced(page, { reconcile: false });

  // 2. Save latency with 1,000 queued (offline, so nothing leaves the outbox meanwhile).
  await ctx.setOffline(true);
  const lat = await page.evaluate(async () => {
    const { lookforApp: app } = window;
    const { validateForBench, template } = await benchTools(app);
    for (let i = 0; i < 1000; i++) await app.outbox.save(template(i));
    const out = [];
    for (let i = 0; i < 200; i++) {
      const r = template(1000 + i);
      const t0 = performance.now();
      if (validateForBench(r)) throw new Error('invalid benchmark record');
      await app.outbox.save(r);
      out.push(performance.now() - t0);
    }
    return out;

    // benchTools builds submitted records like the form does, for the first classroom.
    async function benchTools(app) {
      const cl = [...app.roster.classrooms.values()][0];
      const rv = app.rubric;
      const c = rv.content.en;
      const { validate } = app;
      const now = new Date().toISOString();
      const template = (i) => ({
        id: app.newID(), district_id: app.user.district_id, site_id: cl.site_id, classroom_id: cl.classroom_id,
        course: cl.course, grade: cl.grade, section: cl.section, teacher_id: cl.teacher_id, observer_id: app.user.user_id,
        observer_role: app.user.role, kind: 'walkthrough', rubric_id: rv.rubric_id, rubric_version: rv.version, language: 'en',
        started_at: now, duration_minutes: 20 + (i % 30), discussion_minutes: 5, lesson_focus: 'Benchmark lesson',
        scores: c.dimensions.map((d, j) => ({ dimension: d.key, level: 1 + ((i + j) % 4), evidence: 'Students compared strategies.' })),
        tallies: c.tally_categories.map((x, j) => ({ category: x.key, count: (i + j) % 5 })),
        participation: [], enrolment: [], next_steps: 'Press for reasoning.', status: 'submitted', recorded_at: now,
      });
      const groups = app.roster.groups.map((g) => g.key);
      return { template, validateForBench: (r) => validate(r, { rubric: rv, classroom: cl, groups }) };
    }
  });
  row('save one observation, 1,000 already queued (validate + hash + IndexedDB, Chromium)',
    `p50 ${pct(lat, 50).toFixed(1)} ms, p95 ${pct(lat, 95).toFixed(1)} ms`, `(200 saves; budget 50 ms)`);

  // 3. Sync 200 queued, three rounds alternating the app and the Go client (its own device,
  // synced once first so both pull only what changed); the medians are reported.
  await ctx.setOffline(false);
  await synced(page, { reconcile: false }); // the 1,200 above
  const dir = mkdtempSync(join(tmpdir(), 'lookfor-bench-tablet-'));
  const tab = (...args) => execFileSync(LOOKFOR, ['tablet', ...args, '--db', join(dir, 'tablet.db'), '--server', GRPC, '--key-dir', KEY_DIR, '--log-level', 'error'], { encoding: 'utf8' });
  const appTimes = [], goTimes = [];
  try {
    tab('sync');
    for (let round = 0; round < 3; round++) {
      await ctx.setOffline(true);
      await page.evaluate(async (round) => {
        const { lookforApp: app } = window;
        const cl = [...app.roster.classrooms.values()][1 + round];
        const rv = app.rubric, c = rv.content.en, now = new Date().toISOString();
        for (let i = 0; i < 200; i++) {
          await app.outbox.save({
            id: app.newID(), district_id: app.user.district_id, site_id: cl.site_id, classroom_id: cl.classroom_id,
            teacher_id: cl.teacher_id, observer_id: app.user.user_id, observer_role: app.user.role, kind: 'informal',
            rubric_id: rv.rubric_id, rubric_version: rv.version, started_at: now, duration_minutes: 30, discussion_minutes: 10,
            scores: c.dimensions.map((d, j) => ({ dimension: d.key, level: 1 + ((i + j) % 4) })), status: 'submitted', recorded_at: now,
          });
        }
        app.lastSync = null;
      }, round);
      // The network returns: the app's online handler starts the sync (push, then pull); the
      // app times it (lastSync: the protocol's work, not the redraw of the list after it).
      await ctx.setOffline(false);
      await page.waitForFunction(() => window.lookforApp.lastSync?.report.applied > 0 && !window.lookforApp.syncing, null, { timeout: 120000 });
      const { ms, report } = await page.evaluate(() => window.lookforApp.lastSync);
      if (report.applied !== 200) throw new Error(`the sync applied ${report.applied} of 200`);
      appTimes.push(ms);
      tab('record', '--n', '200', '--seed', String(1 + round + (Date.now() % 100000)));
      const t0 = performance.now();
      tab('sync');
      goTimes.push(performance.now() - t0);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const fmt = (xs) => `median ${pct(xs, 50).toFixed(0)} ms (${xs.map((x) => x.toFixed(0)).join(', ')})`;
  row('sync 200 queued observations (push + pull), the app over REST', fmt(appTimes));
  row('sync 200 queued observations (push + pull), the Go client over gRPC', fmt(goTimes), '(lookfor tablet sync, process start included)');
  row('app / Go client (medians)', `${(pct(appTimes, 50) / pct(goTimes, 50)).toFixed(2)}×`);
} finally {
  await ctx.close();
}

const w = Math.max(...rows.map((r) => r[0].length));
console.log(`\n${'measure'.padEnd(w)} | result`);
console.log(`${'-'.repeat(w)}-|-${'-'.repeat(40)}`);
for (const [a, b, c] of rows) console.log(`${a.padEnd(w)} | ${b} ${c}`);
console.log(`(load average at the end: ${load()})`);
