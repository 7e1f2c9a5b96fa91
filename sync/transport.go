package sync

import "context"

// Transport is how the client reaches the server. The server package provides the gRPC one;
// errors are *observation.Error values whose Kind tells the client what to do (Unauthenticated:
// keep the queue and wait for a new token; Unavailable: retry with backoff; ResourceExhausted:
// split the batch; anything else: stop and report).
type Transport interface {
	RegisterDevice(ctx context.Context, deviceID, clientVersion string, schemaVersion int) (Device, error)
	Push(ctx context.Context, req PushRequest) (PushResponse, error)
	Pull(ctx context.Context, req PullRequest) (PullPage, error)
	Reconcile(ctx context.Context, deviceID string, pairs []HashPair) (ReconcileResult, error)
}
