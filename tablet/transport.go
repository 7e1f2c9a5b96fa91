package tablet

import (
	"context"

	"github.com/lookfor-edu/lookfor/sync"
)

// Transport is how the client reaches the server. server.Transport is the gRPC one (it needs the
// generated code, so it lives in package server). Errors are *observation.Error values whose
// Kind tells the client what to do (Unauthenticated: keep the queue and wait for a new token;
// Unavailable: retry with backoff; ResourceExhausted: split the batch; anything else: stop and
// report).
type Transport interface {
	RegisterDevice(ctx context.Context, deviceID, clientVersion string, schemaVersion int) (sync.Device, error)
	Push(ctx context.Context, req sync.PushRequest) (sync.PushResponse, error)
	Pull(ctx context.Context, req sync.PullRequest) (sync.PullPage, error)
	Reconcile(ctx context.Context, deviceID string, pairs []sync.HashPair) (sync.ReconcileResult, error)
}
