// The front ends are served, sign-in reaches them, and the shells are accessible.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, signIn, axe, api } from './lib.mjs';

test('a principal signs in to the pages and the app shell loads', async () => {
  const context = await launch();
  try {
    const page = await context.newPage();
    await page.goto(BASE + '/');
    await page.getByRole('link', { name: 'Sign in' }).waitFor();
    await signIn(page, process.env.PRINCIPAL, '/');
    await page.locator('#who').filter({ hasText: process.env.PRINCIPAL }).waitFor();
    assert.deepEqual(await axe(page), []);
    const me = await api(page, 'GET', '/v1/me');
    assert.equal(me.status, 200);
    await page.goto(BASE + '/app/');
    await page.locator('#who').filter({ hasText: process.env.PRINCIPAL }).waitFor();
    assert.deepEqual(await axe(page), []);
    const out = await api(page, 'POST', '/auth/logout');
    assert.equal(out.status, 200);
    assert.equal((await api(page, 'GET', '/v1/me')).status, 401);
  } finally {
    await context.close();
  }
});
