// The front ends are served, sign-in reaches them, and the shells are accessible.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, atProvider, axe, api } from './lib.mjs';

test('a principal signs in to the pages and the app shell loads', async () => {
  const context = await launch();
  try {
    const page = await context.newPage();
    await page.goto(BASE + '/');
    await page.getByRole('link', { name: 'Sign in' }).waitFor();
    // Sign in by work email: the district is chosen by its domain (here no district has a
    // provider of its own, so the deployment's provider signs the principal in).
    await page.fill('#signin-email', process.env.PRINCIPAL_EMAIL);
    await page.getByRole('button', { name: 'Continue' }).click();
    await atProvider(page, process.env.PRINCIPAL, '/');
    await page.locator('#who').filter({ hasText: process.env.PRINCIPAL }).waitFor();
    assert.deepEqual(await axe(page), []);
    const me = await api(page, 'GET', '/v1/me');
    assert.equal(me.status, 200);
    await page.goto(BASE + '/app/');
    await page.locator('#who').filter({ hasText: process.env.PRINCIPAL }).waitFor();
    assert.deepEqual(await axe(page), []);
    // The app syncs as it opens: signing out while its calls are in flight must still end the
    // session (store.WebSessions never writes an ended session back).
    const out = await api(page, 'POST', '/auth/logout');
    assert.equal(out.status, 200);
    assert.equal((await api(page, 'GET', '/v1/me')).status, 401);
  } finally {
    await context.close();
  }
});
