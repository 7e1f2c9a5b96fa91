// The session ends while the tablet is offline (run by TestAppSessionExpiry with a 3 s idle
// timeout): recording goes on, sync asks the coach to sign in again, the outbox survives, and
// after signing in everything syncs exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, signIn, atProvider, viewports } from './lib.mjs';
import { ready, waiting, synced, record, sameAsServer, writeState, appURL } from './app-lib.mjs';

test('the outbox survives a session that expired offline', async () => {
  const ctx = await launch({ viewport: viewports.portrait });
  try {
    const page = await ctx.newPage();
    await signIn(page, process.env.COACH, '/app/');
    await ready(page);
    await synced(page);
    await ctx.setOffline(true);
    for (let i = 0; i < 3; i++) await record(page, i);
    assert.equal(await waiting(page), 3);
    await page.waitForTimeout(4000); // past the server's idle timeout
    await ctx.setOffline(false); // the online event starts a sync: 401
    await page.locator('#signin-again').waitFor({ timeout: 30000 });
    assert.equal(await waiting(page), 3, 'the outbox is kept');
    await page.locator('#signin-again a').click();
    await atProvider(page, process.env.COACH, '/app/');
    await ready(page);
    await synced(page);
    assert.equal(await sameAsServer(page, 'after signing in again'), 3);
    await writeState(page);
  } finally {
    await ctx.close();
  }
});
