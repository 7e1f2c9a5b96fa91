// The app's content hash and record validation against the vectors and cases the Go code checks too
// (observation/testdata/content-hash-vectors.json, docs/sync-protocol.md §6). Plain Node: the
// module is the one the app bundles, and Node's Web Crypto is the browser's API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { canonical, contentHash, normalize, fromWire, toWire, utc } from '../src/app/record.js';
import { validate } from '../src/app/validate.js';

const vectors = JSON.parse(readFileSync(new URL('../../observation/testdata/content-hash-vectors.json', import.meta.url)));

test('the app computes the canonical JSON and hash of every shared vector', async () => {
  assert.ok(vectors.length >= 3);
  for (const v of vectors) {
    assert.equal(canonical(v.record), v.canonical, v.name);
    assert.equal(await contentHash(v.record), v.hash, v.name);
    // The app's own form (every key present) and a round trip through the REST form hash alike.
    const own = normalize(v.record);
    assert.equal(await contentHash(own), v.hash, v.name);
    assert.equal(await contentHash(fromWire(JSON.parse(JSON.stringify(toWire(own))))), v.hash, v.name);
  }
});

test('times are canonical UTC', () => {
  assert.equal(utc('2026-03-04T09:15:00-07:00'), '2026-03-04T16:15:00Z');
  assert.equal(utc('2026-03-04T16:58:07.250Z'), '2026-03-04T16:58:07.25Z');
  assert.equal(utc('2026-03-04T16:58:07.000000000Z'), '2026-03-04T16:58:07Z');
  assert.equal(utc('2026-01-01T00:30:00.5+01:00'), '2025-12-31T23:30:00.5Z');
  assert.equal(utc('0050-01-01T00:00:00Z'), '0050-01-01T00:00:00Z');
  assert.equal(utc('not a time'), 'not a time');
});

const cases = JSON.parse(readFileSync(new URL('../../observation/testdata/record-validation-cases.json', import.meta.url)));

// expand replaces every {"$repeat": [s, n]} with s repeated n times.
const expand = (v) => (Array.isArray(v) ? v.map(expand)
  : v && typeof v === 'object' ? (v.$repeat ? v.$repeat[0].repeat(v.$repeat[1]) : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expand(x)])))
    : v);

test('the app validates records as the server does: the same field and reason for every shared case', () => {
  assert.ok(cases.cases.length >= 40);
  const rubric = { ...cases.rubric, status: 'VERSION_STATUS_PUBLISHED' };
  for (const c of cases.cases) {
    const r = normalize(expand({ ...cases.base, ...c.patch }));
    const classroom = cases.classrooms.find((x) => x.classroom_id === r.classroom_id);
    const err = validate(r, { rubric, classroom, groups: cases.groups, now: Date.parse(cases.now) });
    assert.deepEqual(err && [err.field, err.reason], c.want, c.name + (err ? `: ${err.message}` : ''));
  }
});
