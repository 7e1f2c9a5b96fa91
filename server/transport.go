package server

import (
	"context"
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/sync"
	"github.com/lookfor-edu/lookfor/tablet"
)

// tokenSource returns the bearer token for the next call; the tablet refreshes it after a 401.
type tokenSource func(ctx context.Context) (string, error)

// Transport is the tablet's gRPC connection to lookfor: tablet.Transport over SyncService.
type Transport struct {
	client pb.SyncServiceClient
	token  tokenSource
}

var _ tablet.Transport = (*Transport)(nil)

// NewTransport wraps a client connection.
func NewTransport(conn grpc.ClientConnInterface, token tokenSource) *Transport {
	return &Transport{client: pb.NewSyncServiceClient(conn), token: token}
}

func (t *Transport) ctx(ctx context.Context, deviceID string) (context.Context, error) {
	tok, err := t.token(ctx)
	if err != nil {
		return nil, &observation.Error{Kind: observation.KindUnauthenticated, Reason: "TOKEN_MISSING", Message: err.Error()}
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok, mdDeviceID, deviceID), nil
}

// fromStatus maps a gRPC error back to a domain error the client can act on: the inverse of
// toStatus for the codes a client distinguishes.
func fromStatus(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		return observation.Unavailable(err, "transport")
	}
	e := &observation.Error{Message: st.Message(), Err: err}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			e.Reason = d.GetReason()
		case *errdetails.BadRequest:
			if v := d.GetFieldViolations(); len(v) > 0 {
				e.Field = v[0].GetField()
			}
		}
	}
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted, codes.Internal, codes.Unknown:
		e.Kind = observation.KindUnavailable
	case codes.Unauthenticated:
		e.Kind = observation.KindUnauthenticated
	case codes.ResourceExhausted:
		e.Kind = observation.KindResourceExhausted
	case codes.PermissionDenied:
		e.Kind = observation.KindPermissionDenied
	case codes.NotFound:
		e.Kind = observation.KindNotFound
	case codes.FailedPrecondition:
		e.Kind = observation.KindFailedPrecondition
	case codes.AlreadyExists:
		e.Kind = observation.KindAlreadyExists
	default:
		e.Kind = observation.KindInvalid
	}
	return e
}

// RegisterDevice implements tablet.Transport.
func (t *Transport) RegisterDevice(ctx context.Context, deviceID, clientVersion string, schema int) (sync.Device, error) {
	cctx, err := t.ctx(ctx, deviceID)
	if err != nil {
		return sync.Device{}, err
	}
	resp, err := t.client.RegisterDevice(cctx, &pb.RegisterDeviceRequest{DeviceId: deviceID, ClientVersion: clientVersion, SchemaVersion: uint32(schema)})
	if err != nil {
		return sync.Device{}, fromStatus(err)
	}
	d := resp.GetDevice()
	return sync.Device{ID: d.GetDeviceId(), UserID: d.GetUserId(), DistrictID: d.GetDistrictId(), NextSeq: d.GetNextSeq(),
		RegisteredAt: d.GetRegisterTime().AsTime()}, nil
}

// Push implements tablet.Transport.
func (t *Transport) Push(ctx context.Context, req sync.PushRequest) (sync.PushResponse, error) {
	cctx, err := t.ctx(ctx, req.DeviceID)
	if err != nil {
		return sync.PushResponse{}, err
	}
	p := &pb.PushRequest{DeviceId: req.DeviceID, Cursor: req.Cursor, ClientVersion: req.ClientVersion, SchemaVersion: uint32(req.SchemaVersion),
		Changes: make([]*pb.Change, len(req.Changes))}
	for i, c := range req.Changes {
		p.Changes[i] = ChangeToPB(c)
	}
	resp, err := t.client.Push(cctx, p)
	if err != nil {
		return sync.PushResponse{}, fromStatus(err)
	}
	out := sync.PushResponse{Cursor: resp.GetCursor(), Reset: resp.GetReset_(), Results: make([]sync.Result, len(resp.GetResults()))}
	for i, r := range resp.GetResults() {
		out.Results[i] = resultFromPB(r)
	}
	return out, nil
}

// Pull implements tablet.Transport.
func (t *Transport) Pull(ctx context.Context, req sync.PullRequest) (sync.PullPage, error) {
	cctx, err := t.ctx(ctx, req.DeviceID)
	if err != nil {
		return sync.PullPage{}, err
	}
	resp, err := t.client.Pull(cctx, &pb.PullRequest{DeviceId: req.DeviceID, Cursor: req.Cursor, PageSize: int32(req.Limit),
		SchemaVersion: uint32(max(req.SchemaVersion, 0))})
	if err != nil {
		return sync.PullPage{}, fromStatus(err)
	}
	return pullFromPB(resp), nil
}

// Reconcile implements tablet.Transport.
func (t *Transport) Reconcile(ctx context.Context, deviceID string, pairs []sync.HashPair) (sync.ReconcileResult, error) {
	cctx, err := t.ctx(ctx, deviceID)
	if err != nil {
		return sync.ReconcileResult{}, err
	}
	req := &pb.ReconcileRequest{DeviceId: deviceID}
	for _, p := range pairs {
		req.Records = append(req.Records, &pb.RecordHash{ObservationId: p.ObservationID, ContentHash: p.ContentHash})
	}
	resp, err := t.client.Reconcile(cctx, req)
	if err != nil {
		return sync.ReconcileResult{}, fromStatus(err)
	}
	out := sync.ReconcileResult{Missing: resp.GetMissing(), Deleted: resp.GetDeleted()}
	for _, d := range resp.GetDiffer() {
		out.Differ = append(out.Differ, sync.HashPair{ObservationID: d.GetObservationId(), ContentHash: d.GetContentHash()})
	}
	for _, e := range resp.GetInvalid() {
		out.Invalid = append(out.Invalid, sync.ItemError{Index: int(e.GetIndex()), ObservationID: e.GetObservationId(), Reason: e.GetReason(), Message: e.GetMessage()})
	}
	return out, nil
}
