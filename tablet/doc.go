// Package tablet is the tablet side of lookfor's offline sync (docs/sync-protocol.md): a Go
// client that records observations into a durable outbox in a bbolt file and syncs it when the
// network allows. Every local change gets the device's next sequence number in the same
// transaction that stores it; Sync pushes the outbox in batches within the server's limits,
// retries transport failures with backoff, keeps the outbox intact when the server refuses the
// credentials, keeps conflicts and rejections for a person, and pulls pages of records and
// tombstones, each committed together with its cursor.
//
// It speaks the protocol types of package sync and reaches the server through Transport, which
// it defines. It may import the standard library, bbolt, uuid, observation and sync; never
// store, server, pgx, gen/ or grpc. The gRPC implementation of Transport, the one that needs the
// generated code, is server.Transport (server/transport.go).
package tablet
