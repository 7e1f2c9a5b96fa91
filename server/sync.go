package server

import (
	"context"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/sync"
)

type syncServer struct {
	pb.UnimplementedSyncServiceServer
	svc     *sync.Service
	metrics *syncMetrics
	pulls   chan struct{} // a slot per pull that may hold a page at once (Config.PullConcurrency)
}

func deviceToPB(d sync.Device) *pb.Device {
	return &pb.Device{DeviceId: d.ID, UserId: d.UserID, DistrictId: d.DistrictID, NextSeq: d.NextSeq, RegisterTime: timestamppb.New(d.RegisteredAt)}
}

func (s *syncServer) RegisterDevice(ctx context.Context, req *pb.RegisterDeviceRequest) (*pb.RegisterDeviceResponse, error) {
	d, err := s.svc.RegisterDevice(ctx, principalFrom(ctx), req.GetDeviceId(), req.GetClientVersion(), int(req.GetSchemaVersion()))
	if err != nil {
		return nil, fail(ctx, err)
	}
	return &pb.RegisterDeviceResponse{Device: deviceToPB(d)}, nil
}

func (s *syncServer) Push(ctx context.Context, req *pb.PushRequest) (*pb.PushResponse, error) {
	resp, err := s.svc.Push(ctx, principalFrom(ctx), PushFromPB(req), proto.Size(req))
	s.metrics.pushes.WithLabelValues(outcome(err, resp.Reset)).Inc()
	for _, r := range resp.Results {
		s.metrics.results.WithLabelValues(string(r.Status), r.Reason).Inc()
	}
	if err != nil {
		return nil, fail(ctx, err)
	}
	out := &pb.PushResponse{Cursor: resp.Cursor, Reset_: resp.Reset, Results: make([]*pb.ChangeResult, len(resp.Results))}
	for i, r := range resp.Results {
		out.Results[i] = resultToPB(r)
	}
	return out, nil
}

// Pull waits for a pull slot, so that however many tablets sync at once, only
// Config.PullConcurrency pages are read, held and converted at a time; a caller that gives up
// while waiting gets CANCELED or DEADLINE_EXCEEDED and changed nothing.
func (s *syncServer) Pull(ctx context.Context, req *pb.PullRequest) (*pb.PullResponse, error) {
	select {
	case s.pulls <- struct{}{}:
	case <-ctx.Done():
		err := fail(ctx, ctx.Err())
		s.metrics.pulls.WithLabelValues(outcome(err, false)).Inc()
		return nil, err
	}
	defer func() { <-s.pulls }()
	page, err := s.svc.Pull(ctx, principalFrom(ctx), sync.PullRequest{DeviceID: req.GetDeviceId(), Cursor: req.GetCursor(),
		Limit: int(req.GetPageSize())}, int(req.GetSchemaVersion()))
	s.metrics.pulls.WithLabelValues(outcome(err, page.Reset)).Inc()
	if err != nil {
		return nil, fail(ctx, err)
	}
	return pullToPB(page), nil
}

func (s *syncServer) Reconcile(ctx context.Context, req *pb.ReconcileRequest) (*pb.ReconcileResponse, error) {
	pairs := make([]sync.HashPair, len(req.GetRecords()))
	for i, r := range req.GetRecords() {
		pairs[i] = sync.HashPair{ObservationID: r.GetObservationId(), ContentHash: r.GetContentHash()}
	}
	res, err := s.svc.Reconcile(ctx, principalFrom(ctx), req.GetDeviceId(), pairs)
	if err != nil {
		return nil, fail(ctx, err)
	}
	out := &pb.ReconcileResponse{Missing: res.Missing, Deleted: res.Deleted}
	for _, d := range res.Differ {
		out.Differ = append(out.Differ, &pb.RecordHash{ObservationId: d.ObservationID, ContentHash: d.ContentHash})
	}
	for _, e := range res.Invalid {
		out.Invalid = append(out.Invalid, &pb.ReconcileItemError{Index: uint32(e.Index), ObservationId: e.ObservationID, Reason: e.Reason, Message: e.Message})
	}
	return out, nil
}
