// The server loses records the tablet holds as synced (run by TestAppRecoversRecordsTheServerLost,
// which restores the database to a point between the two syncs of phase 1 before phase 2). The
// same browser profile is used in both phases, as the same tablet.
//   PHASE=1: sign in, record 3 observations and sync, note the time (the backup is taken then),
//            record 2 more and sync; APP_STATE gets the records, backup_at and the lost ids.
//   PHASE=2: open the app again, press "Sync now" (a sync with reconcile): the server reports
//            the two `missing`, the app queues them again and pushes them in that same sync;
//            APP_STATE gets the records for the check in PostgreSQL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, signIn, viewports } from './lib.mjs';
import { ready, waiting, synced, record, appRecords, sameAsServer, writeState, appURL } from './app-lib.mjs';

const COACH = process.env.COACH;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function open(ctx) {
  const page = await ctx.newPage();
  await page.goto(appURL);
  const signedIn = await page.evaluate(async () => (await (await fetch('/auth/session')).json()).signed_in);
  if (!signedIn) await signIn(page, COACH, '/app/'); // the session cookie may not outlive the browser
  await ready(page);
  return page;
}

test(`a server restored from an older backup gets the tablet's records back (phase ${process.env.PHASE})`, async () => {
  const ctx = await launch({ userDataDir: process.env.PROFILE, viewport: viewports.landscape });
  try {
    const page = await open(ctx);
    if (process.env.PHASE === '1') {
      await synced(page);
      for (let i = 0; i < 3; i++) await record(page, i);
      await synced(page);
      assert.equal(await sameAsServer(page, 'after the first sync'), 3);
      await sleep(100);
      const backupAt = new Date().toISOString(); // the district's backup is taken here
      await sleep(100);
      const lost = [];
      for (let i = 3; i < 5; i++) lost.push(await record(page, i));
      await synced(page);
      assert.equal(await sameAsServer(page, 'after the second sync'), 5);
      await writeState(page, [], { backup_at: backupAt, lost });
      return;
    }
    // Phase 2: the server was restored. The app holds the two lost records as synced.
    const held = await appRecords(page);
    assert.equal(held.length, 5);
    assert.deepEqual(held.filter((r) => r.pending || r.revision === 0), [], 'every record is held as synced');
    await page.waitForFunction(() => document.body.dataset.sync !== 'running' && !window.lookforApp.syncing);
    await page.evaluate(() => { window.beforeSyncNow = window.lookforApp.lastSync; });
    await page.click('#sync-now');
    await page.waitForFunction(() => window.lookforApp.lastSync !== window.beforeSyncNow && document.body.dataset.sync === 'idle'
      || document.body.dataset.sync === 'error', null, { timeout: 60000 });
    assert.equal(await page.evaluate(() => window.lookforApp.error && String(window.lookforApp.error)), null, 'the sync succeeded');
    const report = await page.evaluate(() => window.lookforApp.lastSync.report);
    console.log('"Sync now" after the restore:', JSON.stringify(report));
    assert.equal(await waiting(page), 0, '"Sync now" pushed what reconcile queued again, in the same sync');
    assert.equal(report.requeued, 2, 'reconcile reported the two lost records missing and the app queued them again');
    assert.equal(report.applied, 2, 'the two lost records were created again');
    assert.equal(await sameAsServer(page, 'after the restore and "Sync now"'), 5);
    await writeState(page);
  } finally {
    await ctx.close();
  }
});
