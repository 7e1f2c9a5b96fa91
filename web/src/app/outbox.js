// The tablet's durable state in IndexedDB (through idb), one database per signed-in person, so a
// device registration is bound to one user and another person signing in on the same tablet
// never sends or sees the first one's queue. It mirrors the Go client's bbolt buckets (tablet/):
//
//   meta       device_id, registered, next_seq, cursor, last_sync, last_reconcile
//   outbox     seq → change {seq, op, observation_id, base_revision, fields, record, hash}
//   records    id → {id, record, meta: {revision, content_hash, local_hash, pending_seqs,
//              deleted, conflict, rejected, hash_mismatch}}
//   conflicts  key → {key, local: change, result, at}   (a person resolves them)
//   rejected   key → {key, change, result, at}          (the coach fixes and resends them)
//   rubrics    "id:version" → the rubric version changes pulled
//
// Everything that belongs together (a seq and its change and record; a push batch's results and
// the cursor; a pull page and its cursor) is one IndexedDB transaction with strict durability,
// so closing the page or killing the browser at any instant leaves all of it or none of it.
import { openDB } from 'idb';
import { v7 as uuidv7 } from 'uuid';
import { contentHash, normalize, nowUTC } from './record.js';

const STORES = ['meta', 'outbox', 'records', 'conflicts', 'rejected', 'rubrics'];
const RW = { durability: 'strict' };

// newID is a new record (or device) id: a UUIDv7, as the server requires of new records.
export const newID = () => uuidv7();

// open opens (creating on first use) the outbox of user and returns it.
export async function open(user) {
  const db = await openDB('lookfor-app:' + user, 1, {
    upgrade(db) {
      db.createObjectStore('meta');
      db.createObjectStore('outbox', { keyPath: 'seq' });
      db.createObjectStore('records', { keyPath: 'id' });
      db.createObjectStore('conflicts', { keyPath: 'key', autoIncrement: true });
      db.createObjectStore('rejected', { keyPath: 'key', autoIncrement: true });
      db.createObjectStore('rubrics', { keyPath: 'k' });
    },
  });
  const tx = db.transaction('meta', 'readwrite', RW);
  if (!(await tx.store.get('device_id'))) await tx.store.put(newID(), 'device_id');
  if (!(await tx.store.get('next_seq'))) await tx.store.put(1, 'next_seq');
  await tx.done;
  return new Outbox(db);
}

export class Outbox {
  constructor(db) { this.db = db; }

  tx(stores = STORES, mode = 'readwrite') { return this.db.transaction(stores, mode, mode === 'readwrite' ? RW : undefined); }

  async meta(key) { return this.db.get('meta', key); }
  async setMeta(key, v) { const tx = this.tx(['meta']); await tx.store.put(v, key); await tx.done; }

  // save records a create, an edit, a submission or an amendment: the record is stored and an
  // upsert naming the last known server revision is queued under the next seq, in one
  // transaction. Saving clears the record's earlier rejection (the coach has fixed it).
  async save(record, fields = []) {
    const r = normalize({ ...record, recorded_at: nowUTC() });
    const hash = await contentHash(r);
    const tx = this.tx();
    const e = (await tx.objectStore('records').get(r.id)) ?? { id: r.id, meta: { revision: 0, content_hash: '', pending_seqs: [] } };
    if (e.meta.rejected) {
      await dropBy(tx.objectStore('rejected'), (x) => x.change.observation_id === r.id);
      e.meta.rejected = null;
    }
    e.record = r;
    e.meta.local_hash = hash;
    e.meta.deleted = false;
    const seq = await enqueue(tx, { op: 'upsert', observation_id: r.id, base_revision: e.meta.revision, fields, record: r, hash }, e);
    await tx.done;
    return { seq, record: r, hash };
  }

  // remove records a local deletion (a draft, or an amendment that deletes a submitted record):
  // the record leaves the list at once and a delete naming the known revision is queued.
  async remove(id) {
    const tx = this.tx();
    const e = await tx.objectStore('records').get(id);
    if (!e || e.meta.deleted) { tx.done.catch(() => {}); tx.abort(); throw new Error('no such observation'); }
    if (e.meta.rejected) {
      await dropBy(tx.objectStore('rejected'), (x) => x.change.observation_id === id);
      e.meta.rejected = null;
    }
    e.meta.deleted = true;
    const seq = await enqueue(tx, { op: 'delete', observation_id: id, base_revision: e.meta.revision, fields: [] }, e);
    await tx.done;
    return seq;
  }

  // records lists the local records (not the locally deleted ones) with their bookkeeping.
  async records() { return (await this.db.getAll('records')).filter((e) => !e.meta.deleted); }
  async record(id) { const e = await this.db.get('records', id); return e && !e.meta.deleted ? e : null; }
  async conflicts() { return this.db.getAll('conflicts'); }
  async rejections() { return this.db.getAll('rejected'); }
  async pending() { return this.db.getAll('outbox'); }

  // status summarises the local state for the status bar.
  async status() {
    const tx = this.db.transaction(STORES, 'readonly');
    const [waiting, conflicts, rejected, lastSync, deviceID] = await Promise.all([
      tx.objectStore('outbox').count(), tx.objectStore('conflicts').count(), tx.objectStore('rejected').count(),
      tx.objectStore('meta').get('last_sync'), tx.objectStore('meta').get('device_id'),
    ]);
    return { waiting, conflicts, rejected, lastSync, deviceID };
  }

  // resolved removes the conflicts of one record once a person resolved them on the server and
  // stores the server's resolution as the local copy.
  async resolved(id, observation) {
    const tx = this.tx();
    await dropBy(tx.objectStore('conflicts'), (c) => c.local.observation_id === id);
    const e = await tx.objectStore('records').get(id);
    if (e) {
      e.meta.conflict = false;
      if (observation && e.meta.pending_seqs.length === 0) {
        e.record = observation.record;
        e.meta.revision = observation.revision;
        e.meta.content_hash = observation.content_hash;
        e.meta.local_hash = observation.content_hash;
        e.meta.deleted = false;
      }
      await tx.objectStore('records').put(e);
    }
    await tx.done;
  }
}

// enqueue assigns the next seq to ch, stores it and marks it pending on the record, inside tx.
export async function enqueue(tx, ch, e) {
  const meta = tx.objectStore('meta');
  const seq = (await meta.get('next_seq')) ?? 1;
  ch.seq = seq;
  await tx.objectStore('outbox').put(ch);
  e.meta.pending_seqs = [...(e.meta.pending_seqs ?? []), seq];
  await tx.objectStore('records').put(e);
  await meta.put(seq + 1, 'next_seq');
  return seq;
}

// dropBy deletes the values of store for which pred is true.
export async function dropBy(store, pred) {
  for (let c = await store.openCursor(); c; c = await c.continue()) {
    if (pred(c.value)) await c.delete();
  }
}

// protectedEntry: the local copy holds something the server does not have (a pending change,
// an unresolved conflict, a rejected change to fix); pulls never overwrite or remove it.
export const protectedEntry = (e) => e.meta.pending_seqs.length > 0 || e.meta.conflict || !!e.meta.rejected;
