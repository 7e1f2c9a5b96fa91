// The tablet side of the sync protocol (docs/sync-protocol.md) over REST, doing on every edge what
// the Go client (tablet/) does: register the device for the signed-in user, push the outbox in
// seq order in batches within the server's limits, settle per-item results in one transaction
// with the cursor, replay after a lost response (the same seqs and content are sent again and
// the server answers with the stored results), renumber after SEQ_REUSED, close SEQUENCE_GAPs,
// pull page by page with the cursor (rubric changes, upserts, tombstones, reset, BAD_CURSOR),
// and reconcile content hashes. A 401 stops the sync and keeps the outbox; the person signs in
// again and the next sync goes on where this one stopped.
import { api, session } from '../shared/session.js';
import { contentHash, fromWire, toWire } from './record.js';
import { dropBy, enqueue, protectedEntry } from './outbox.js';

// The server's default limits (sync.DefaultLimits); a 413 halves the batch anyway.
export const LIMITS = { maxChanges: 500, maxBytes: 4 << 20, pullPage: 500, reconcile: 20000 };
export const CLIENT_VERSION = 'lookfor-app/1';
export const SCHEMA_VERSION = 1;
const ATTEMPTS = 5, BASE_BACKOFF = 200, MAX_BACKOFF = 30000, CALL_TIMEOUT = 120000;

// SyncError says why a sync stopped: kind is offline (the network or the server is unavailable;
// retried first), unauthenticated (sign in again), too_large (413), refused (the server
// answered 4xx) or protocol (an answer the client cannot settle; nothing leaves the outbox).
export class SyncError extends Error {
  constructor(kind, message, { status = 0, reason = '' } = {}) {
    super(message);
    this.kind = kind; this.status = status; this.reason = reason;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const enc = new TextEncoder();

// call POSTs body to path with the session cookie and CSRF token. Unavailable answers and
// network failures are retried with exponential backoff and full jitter while the browser is
// online; a stale CSRF token is refreshed once.
async function call(path, body, report) {
  let csrfRetried = false;
  for (let attempt = 1; ; attempt++) {
    let err;
    try {
      const r = await Promise.race([api('POST', path, body), sleep(CALL_TIMEOUT).then(() => { throw new Error('timeout'); })]);
      if (r.ok) return await r.json();
      const b = await r.json().catch(() => ({}));
      const reason = b.reason ?? b.details?.find((d) => d.reason)?.reason ?? '';
      const message = b.message ?? `${path} answered ${r.status}`;
      if (r.status === 401) throw new SyncError('unauthenticated', message, { status: 401, reason });
      if (r.status === 403 && reason === 'CSRF_TOKEN' && !csrfRetried) {
        csrfRetried = true;
        await session(true);
        attempt--;
        continue;
      }
      if (r.status === 413) throw new SyncError('too_large', message, { status: 413, reason });
      if (![408, 500, 502, 503, 504].includes(r.status)) throw new SyncError('refused', message, { status: r.status, reason });
      err = new SyncError('offline', message, { status: r.status, reason });
    } catch (e) {
      if (e instanceof SyncError && e.kind !== 'offline') throw e;
      err = e instanceof SyncError ? e : new SyncError('offline', `${path}: ${e.message}`);
    }
    if (!navigator.onLine || attempt >= ATTEMPTS) throw err;
    report.retries++;
    await sleep(Math.random() * Math.min(MAX_BACKOFF, BASE_BACKOFF * 2 ** (attempt - 1)));
  }
}

const wireChange = (ch) => ({
  seq: ch.seq,
  op: ch.op === 'delete' ? 'CHANGE_OP_DELETE' : 'CHANGE_OP_UPSERT',
  record: ch.record ? toWire(ch.record) : undefined,
  observation_id: ch.observation_id,
  base_revision: ch.base_revision,
  fields: ch.fields ?? [],
});

// Syncer runs the protocol for one person's outbox.
export class Syncer {
  constructor(outbox, user) { this.ob = outbox; this.user = user; }

  // sync registers if needed, pushes everything queued, pulls until the server has no more and,
  // with reconcile, compares content hashes. One sync runs at a time across the app's tabs.
  async sync({ reconcile = false } = {}) {
    const run = async () => {
      const report = { pushed: 0, applied: 0, duplicates: 0, conflicts: 0, rejected: 0, pulled: 0, removed: 0, batches: 0, retries: 0, rubrics: 0, mismatches: 0, requeued: 0 };
      try {
        await this.push(report);
        await this.pull(report);
      } catch (e) {
        if (e.reason !== 'DEVICE_NOT_REGISTERED') throw e;
        // The server forgot the device (a restored database): register again and go on.
        await this.ob.setMeta('registered', false);
        await this.push(report);
        await this.pull(report);
      }
      if (reconcile) {
        await this.reconcile(report);
        // Records the server lost (a restored backup) were queued again: send them in this same
        // sync, so "Sync now" ends with them on the server rather than at the next timed sync.
        if (report.requeued > 0) {
          await this.push(report);
          await this.pull(report);
        }
      }
      await this.ob.setMeta('last_sync', new Date().toISOString());
      return report;
    };
    return navigator.locks ? navigator.locks.request('lookfor-sync:' + this.user, run) : run();
  }

  async ensureRegistered(report) {
    if (await this.ob.meta('registered')) return;
    const deviceID = await this.ob.meta('device_id');
    const { device } = await call('/v1/sync:registerDevice', { device_id: deviceID, client_version: CLIENT_VERSION, schema_version: SCHEMA_VERSION }, report);
    const tx = this.ob.tx(['meta']);
    // Never hand out a seq the server has already applied for this device.
    if (Number(device.next_seq) > ((await tx.store.get('next_seq')) ?? 1)) await tx.store.put(Number(device.next_seq), 'next_seq');
    await tx.store.put(true, 'registered');
    await tx.done;
  }

  async push(report) {
    await this.ensureRegistered(report);
    const deviceID = await this.ob.meta('device_id');
    let maxChanges = LIMITS.maxChanges, stalled = 0;
    for (;;) {
      const batch = await this.nextBatch(maxChanges, report);
      if (batch.length === 0) return;
      const req = {
        device_id: deviceID, changes: batch.map(wireChange), cursor: (await this.ob.meta('cursor')) ?? '',
        client_version: CLIENT_VERSION, schema_version: SCHEMA_VERSION,
      };
      let resp;
      try {
        resp = await call('/v1/sync:push', req, report);
      } catch (e) {
        if (e.kind !== 'too_large') throw e;
        if (batch.length === 1) throw new SyncError('too_large', `the server refuses even a single change (seq ${batch[0].seq}); it stays queued`);
        maxChanges = Math.max(1, Math.floor(batch.length / 2));
        continue;
      }
      const results = resp.results ?? [];
      if (results.length !== batch.length || results.some((r, i) => Number(r.seq) !== batch[i].seq)) {
        throw new SyncError('protocol', `the push answered ${results.length} results for ${batch.length} changes (or other seqs); keeping the batch queued`);
      }
      const { gap, settled } = await this.applyResults(batch, resp, report);
      report.batches++;
      if (gap === 0) {
        if (settled === 0) throw new SyncError('protocol', 'the server answered but the outbox did not move');
        stalled = 0;
        continue;
      }
      const moved = await this.closeGap(gap);
      if (settled > 0 || moved > 0) { stalled = 0; continue; }
      if (++stalled > 1) throw new SyncError('protocol', `the server keeps expecting seq ${gap} and the outbox cannot make progress`);
    }
  }

  // nextBatch reads changes in seq order, at most maxChanges within 90 % of the byte limit. A
  // batch ends before a second change to a record whose earlier change submits or deletes it
  // (the later one must name the revision the earlier one produces). A change too large on its
  // own is rejected locally (TOO_LARGE) and kept for the coach.
  async nextBatch(maxChanges, report) {
    const budget = Math.floor(LIMITS.maxBytes / 10) * 9;
    const batch = [];
    const ends = new Set();
    let bytes = 0, tooLarge = null;
    for (let c = await this.ob.db.transaction('outbox').store.openCursor(); c && batch.length < maxChanges; c = await c.continue()) {
      const ch = c.value;
      const size = enc.encode(JSON.stringify(wireChange(ch))).length;
      if (size > budget) { if (batch.length === 0) tooLarge = ch; break; }
      if (bytes + size > budget || ends.has(ch.observation_id)) break;
      batch.push(ch);
      bytes += size;
      if (ch.op === 'delete' || ch.record?.status === 'submitted') ends.add(ch.observation_id);
    }
    if (!tooLarge) return batch;
    await this.settleTx([tooLarge], async (tx, [ch]) => {
      const res = { seq: ch.seq, observation_id: ch.observation_id, status: 'CHANGE_STATUS_REJECTED', reason: 'TOO_LARGE', field: 'record',
        message: `the change is too large to send (over ${budget} bytes); shorten the evidence or notes and save again` };
      const e = await settle(tx, ch);
      await tx.objectStore('rejected').add({ change: ch, result: res, at: new Date().toISOString(), local_only: true });
      if (e) { e.meta.rejected = res; e.meta.deleted = false; await tx.objectStore('records').put(e); }
    });
    report.rejected++;
    return this.nextBatch(maxChanges, report);
  }

  // settleTx runs fn in one read-write transaction over every store and aborts it on error, so
  // nothing of a half-settled batch is kept.
  async settleTx(arg, fn) {
    const tx = this.ob.tx();
    let out;
    try {
      out = await fn(tx, arg);
    } catch (e) {
      tx.done.catch(() => {});
      tx.abort();
      throw e;
    }
    await tx.done;
    return out;
  }

  // applyResults settles a batch in one transaction: acknowledged changes leave the outbox and
  // update their records (checking the server's hash against the app's own), conflicts and
  // rejections are kept for a person, reused seqs are renumbered, and the response's cursor is
  // stored (or, with reset, the cursor and every unprotected local record are dropped).
  async applyResults(batch, resp, report) {
    const r = { applied: 0, duplicates: 0, conflicts: 0, rejected: 0, pushed: 0, removed: 0, mismatches: 0 };
    const out = await this.settleTx(batch, async (tx, batch) => {
      const records = tx.objectStore('records'), outbox = tx.objectStore('outbox');
      const now = new Date().toISOString();
      // Read everything the batch touches at once (IndexedDB answers requests in order, so
      // issuing them together saves a round trip per change), then settle in memory and write.
      const ids = [...new Set(batch.map((ch) => ch.observation_id))];
      const [queuedNow, loaded] = await Promise.all([
        Promise.all(batch.map((ch) => outbox.getKey(ch.seq))),
        Promise.all(ids.map((id) => records.get(id))),
      ]);
      const entries = new Map(ids.map((id, i) => [id, loaded[i] ?? null]));
      const writes = [];
      let gap = 0, settled = 0, reusedFrom = 0, reusedExpected = 0;
      for (const [i, res] of resp.results.entries()) {
        const ch = batch[i];
        if (res.status === 'CHANGE_STATUS_REJECTED' && res.reason === 'SEQ_REUSED') {
          // Another change was applied under this seq (the counter fell behind, e.g. a restored
          // profile): this one was not applied; it and every later one move to fresh seqs.
          if (reusedFrom === 0 || ch.seq < reusedFrom) reusedFrom = ch.seq;
          reusedExpected = Math.max(reusedExpected, Number(res.expected_seq));
          continue;
        }
        if (res.status === 'CHANGE_STATUS_REJECTED' && res.reason === 'SEQUENCE_GAP') {
          const expected = Number(res.expected_seq);
          if (!(expected > 0)) throw new SyncError('protocol', `seq ${ch.seq} held back without an expected seq; keeping the batch queued`);
          if (gap === 0 || expected < gap) gap = expected;
          continue;
        }
        if (queuedNow[i] === undefined) continue;
        // Settle: the change leaves the outbox and its record's pending seqs.
        writes.push(outbox.delete(ch.seq));
        const e = entries.get(ch.observation_id);
        if (e) e.meta.pending_seqs = e.meta.pending_seqs.filter((x) => x !== ch.seq);
        const done = () => { if (e && e.meta.pending_seqs.length === 0 && e.meta.deleted) entries.set(ch.observation_id, 'gone'); };
        settled++;
        r.pushed++;
        switch (res.status) {
          case 'CHANGE_STATUS_APPLIED':
          case 'CHANGE_STATUS_DUPLICATE': {
            if (res.status === 'CHANGE_STATUS_APPLIED') r.applied++; else r.duplicates++;
            if (!e || e === 'gone') break;
            if (ch.op === 'delete') { done(); break; }
            const old = e.meta.revision;
            if (res.revision > 0) e.meta.revision = res.revision;
            e.meta.content_hash = res.content_hash;
            // The server's hash of what it stored must be the app's hash of what it sent.
            e.meta.hash_mismatch = res.content_hash !== ch.hash;
            if (e.meta.hash_mismatch) r.mismatches++;
            await rebase(tx, e, ch.seq, old, e.meta.revision);
            break;
          }
          case 'CHANGE_STATUS_CONFLICT':
            r.conflicts++;
            writes.push(tx.objectStore('conflicts').add({ local: ch, result: res, at: now }));
            if (e && e !== 'gone') { e.meta.conflict = true; e.meta.deleted = false; }
            break;
          default:
            r.rejected++;
            if (ch.op === 'delete' && (res.reason === 'NOT_FOUND' || res.reason === 'DELETED')) {
              // Already gone on the server: the deletion is done.
              if (e && e !== 'gone') done();
              break;
            }
            writes.push(tx.objectStore('rejected').add({ change: ch, result: res, at: now }));
            if (e && e !== 'gone') { e.meta.rejected = res; e.meta.deleted = false; }
        }
      }
      for (const [id, e] of entries) {
        if (e === 'gone') writes.push(records.delete(id));
        else if (e) writes.push(records.put(e));
      }
      await Promise.all(writes);
      if (reusedFrom > 0) {
        settled += await renumberTo(tx, reusedFrom, Math.max(reusedExpected, (await tx.objectStore('meta').get('next_seq')) ?? 1));
        if (gap !== 0 && gap <= reusedFrom) gap = 0;
      }
      if (resp.reset) r.removed += await resetTx(tx);
      else if (resp.cursor) await tx.objectStore('meta').put(resp.cursor, 'cursor');
      return { gap, settled };
    });
    for (const k of Object.keys(r)) report[k] += r[k];
    return out;
  }

  // closeGap: the server expects seq `expected` next. If the outbox holds it, the next batch
  // starts there anyway; if not (dropped locally as too large), later changes are renumbered.
  async closeGap(expected) {
    return this.settleTx(expected, async (tx) => {
      const ob = tx.objectStore('outbox');
      if (await ob.get(expected)) return 0;
      const last = await ob.openCursor(null, 'prev');
      if (!last || expected > last.key) throw new SyncError('protocol', `the server expects seq ${expected}, beyond every queued change, without results for them`);
      return renumberTo(tx, expected, expected);
    });
  }

  async pull(report) {
    await this.ensureRegistered(report);
    const deviceID = await this.ob.meta('device_id');
    let cursor = (await this.ob.meta('cursor')) ?? '';
    let resets = 0;
    for (;;) {
      let page;
      try {
        page = await call('/v1/sync:pull', { device_id: deviceID, cursor, page_size: LIMITS.pullPage, schema_version: SCHEMA_VERSION }, report);
      } catch (e) {
        // A cursor the server no longer accepts (a damaged one, or its key expired): start over.
        if (e.reason === 'BAD_CURSOR' && cursor) page = { reset: true };
        else throw e;
      }
      if (page.reset) {
        if (!cursor || resets > 0) throw new SyncError('protocol', 'the server asked for a reset of a fresh cursor');
        resets++;
        report.removed += await this.settleTx(null, (tx) => resetTx(tx));
        cursor = '';
        continue;
      }
      await this.applyPage(page, report);
      if (!page.has_more) return;
      if (!page.cursor || page.cursor === cursor) throw new SyncError('protocol', 'the server says there is more but did not advance the cursor');
      cursor = page.cursor;
    }
  }

  // applyPage stores one page and its cursor in one transaction. Records with unsent work,
  // conflicts or rejections are never overwritten or removed; older revisions are skipped.
  // Each upsert's hash is computed here too, so a record the app holds is one it has checked.
  async applyPage(page, report) {
    const ups = await Promise.all((page.upserts ?? []).map(async (u) => {
      const record = fromWire(u.record);
      return { record, revision: u.revision, content_hash: u.content_hash, deleted: u.deleted, local_hash: await contentHash(record) };
    }));
    await this.settleTx(null, async (tx) => {
      const records = tx.objectStore('records');
      const writes = (page.rubrics ?? []).map((rc) => tx.objectStore('rubrics').put({ k: `${rc.rubric_id}:${rc.version}`, ...rc }));
      const gone = (page.tombstones ?? []).map((t) => t.observation_id);
      const ids = [...new Set([...ups.map((u) => u.record.id), ...gone])];
      const loaded = await Promise.all(ids.map((id) => records.get(id)));
      const held = new Map(ids.map((id, i) => [id, loaded[i] ?? null]));
      const drop = (id) => {
        const e = held.get(id);
        if (!e || protectedEntry(e)) return;
        report.removed++;
        held.set(id, null);
        writes.push(records.delete(id));
      };
      for (const u of ups) {
        const id = u.record.id;
        if (u.deleted) { drop(id); continue; }
        const e = held.get(id);
        if (e && (protectedEntry(e) || e.meta.revision > u.revision)) continue;
        if (u.local_hash !== u.content_hash) report.mismatches++;
        const ne = { id, record: u.record, meta: { revision: u.revision, content_hash: u.content_hash, local_hash: u.local_hash,
          pending_seqs: [], hash_mismatch: u.local_hash !== u.content_hash } };
        held.set(id, ne);
        writes.push(records.put(ne));
      }
      gone.forEach(drop);
      if (page.cursor) writes.push(tx.objectStore('meta').put(page.cursor, 'cursor'));
      await Promise.all(writes);
    });
    report.pulled += ups.length;
    report.rubrics += (page.rubrics ?? []).length;
  }

  // reconcile sends the (id, hash) of every synced local record: deleted ones are dropped,
  // differing ones fetched again, and own records the server does not have are queued again
  // unchanged (base revision 0), so a server restored from an older backup gets them back.
  async reconcile(report) {
    const deviceID = await this.ob.meta('device_id');
    const synced = (await this.ob.db.getAll('records')).filter((e) => !protectedEntry(e) && e.meta.revision > 0);
    for (let i = 0; i < synced.length; i += LIMITS.reconcile) {
      const part = synced.slice(i, i + LIMITS.reconcile);
      const resp = await call('/v1/sync:reconcile', { device_id: deviceID, records: part.map((e) => ({ observation_id: e.id, content_hash: e.meta.content_hash })) }, report);
      const fetched = [];
      for (const d of resp.differ ?? []) {
        const r = await api('GET', '/v1/observations/' + d.observation_id);
        if (r.ok) fetched.push((await r.json()).observation);
      }
      await this.applyPage({ upserts: fetched }, report);
      await this.settleTx(null, async (tx) => {
        const records = tx.objectStore('records');
        for (const id of resp.deleted ?? []) {
          const e = await records.get(id);
          if (e && !protectedEntry(e)) { await records.delete(id); report.removed++; }
        }
        for (const id of resp.missing ?? []) {
          const e = await records.get(id);
          if (!e || protectedEntry(e)) continue;
          if (e.record.observer_id !== this.user) { await records.delete(id); report.removed++; continue; }
          e.meta.revision = 0;
          e.meta.content_hash = '';
          await enqueue(tx, { op: 'upsert', observation_id: id, base_revision: 0, fields: [], record: e.record, hash: e.meta.local_hash }, e);
          report.requeued++;
        }
      });
    }
    await this.ob.setMeta('last_reconcile', new Date().toISOString());
  }
}

// settle removes ch from the outbox and from its record's pending seqs; it returns the record's
// entry (null when there is none) for the caller to update and store.
async function settle(tx, ch) {
  await tx.objectStore('outbox').delete(ch.seq);
  const e = await tx.objectStore('records').get(ch.observation_id);
  if (!e) return null;
  e.meta.pending_seqs = e.meta.pending_seqs.filter((s) => s !== ch.seq);
  return e;
}

// rebase moves the record's later queued changes made on oldRev onto newRev, so an amendment
// queued behind its own submission names the revision the submission produced.
async function rebase(tx, e, after, oldRev, newRev) {
  if (oldRev === newRev) return;
  const ob = tx.objectStore('outbox');
  for (const seq of e.meta.pending_seqs) {
    if (seq <= after) continue;
    const ch = await ob.get(seq);
    if (!ch || ch.base_revision !== oldRev) continue;
    ch.base_revision = newRev;
    await ob.put(ch);
  }
}

// renumberTo moves the queued changes with seq ≥ from, in order, to seqs to, to+1, …, updating
// their records' pending seqs and the next seq.
async function renumberTo(tx, from, to) {
  const ob = tx.objectStore('outbox');
  const moved = await ob.getAll(IDBKeyRange.lowerBound(from));
  for (const ch of moved) await ob.delete(ch.seq);
  // One old → new map applied once per record: mapping seq by seq would turn [3, 4] moved by one
  // into [5, 5] (3 → 4, then both 4s → 5).
  const to_ = new Map(moved.map((ch, i) => [ch.seq, to + i]));
  const ids = new Set();
  for (const ch of moved) {
    ch.seq = to_.get(ch.seq);
    await ob.put(ch);
    ids.add(ch.observation_id);
  }
  for (const id of ids) {
    const e = await tx.objectStore('records').get(id);
    if (!e) continue;
    e.meta.pending_seqs = e.meta.pending_seqs.map((s) => to_.get(s) ?? s).sort((a, b) => a - b);
    await tx.objectStore('records').put(e);
  }
  if (moved.length > 0) await tx.objectStore('meta').put(to + moved.length, 'next_seq');
  return moved.length;
}

// resetTx drops the cursor and every local record the server can give back.
async function resetTx(tx) {
  let removed = 0;
  await dropBy(tx.objectStore('records'), (e) => !protectedEntry(e) && ++removed > 0);
  await tx.objectStore('meta').delete('cursor');
  return removed;
}
