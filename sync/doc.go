// Package sync is the server side of lookfor's offline sync protocol (docs/sync-protocol.md):
// batched idempotent push with per-device sequence numbers and stored per-item results, drafts
// that merge field by field, amendments against a base revision with conflicts kept for a person
// to resolve, snapshot-safe pull cursors with tombstones, and reconcile. It also holds the
// protocol types both sides share (Change, Result, PushRequest, PullPage…) and the Store
// interface it needs from storage.
//
// It imports observation and the standard library only: no storage, transport or generated code
// (store implements Store; server adapts Service to gRPC). The tablet's client is package
// tablet, which imports sync; sync never imports tablet.
package sync
