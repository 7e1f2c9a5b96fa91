package server

import (
	"context"
	"encoding/base64"
	"encoding/json"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/sync"
)

type observationServer struct {
	pb.UnimplementedObservationServiceServer
	records *sync.Records
}

func encodePageToken(m *sync.PageMark) string {
	if m == nil {
		return ""
	}
	b, _ := json.Marshal(m)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(s string) (*sync.PageMark, error) {
	if s == "" {
		return nil, nil
	}
	var m sync.PageMark
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil || !observation.IsUUID(m.ID) {
		return nil, observation.Invalid("page_token", "BAD_PAGE_TOKEN", "the page token is not one this server issued")
	}
	return &m, nil
}

// trimPage keeps the first limit items of a page read with limit+1 and, when there was more,
// returns the token of the last item kept.
func trimPage[T any](items []T, limit int, mark func(T) sync.PageMark) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	m := mark(items[limit-1])
	return items, encodePageToken(&m)
}

func pageSize(n int32, def int) int {
	if n <= 0 {
		return def
	}
	return int(n)
}

func (s *observationServer) GetObservation(ctx context.Context, req *pb.GetObservationRequest) (*pb.GetObservationResponse, error) {
	o, err := s.records.Get(ctx, principalFrom(ctx), req.GetObservationId())
	if err != nil {
		return nil, fail(ctx, err)
	}
	return &pb.GetObservationResponse{Observation: observationToPB(o)}, nil
}

func (s *observationServer) ListObservations(ctx context.Context, req *pb.ListObservationsRequest) (*pb.ListObservationsResponse, error) {
	after, err := decodePageToken(req.GetPageToken())
	if err != nil {
		return nil, fail(ctx, err)
	}
	limit := pageSize(req.GetPageSize(), 100)
	obs, err := s.records.List(ctx, principalFrom(ctx), sync.ListQuery{SiteID: req.GetSiteId(), ClassroomID: req.GetClassroomId(),
		Status: recordStatusFromPB[req.GetStatus()], Limit: limit + 1, After: after})
	if err != nil {
		return nil, fail(ctx, err)
	}
	obs, next := trimPage(obs, limit, func(o observation.StoredObservation) sync.PageMark {
		return sync.PageMark{CommittedAt: o.CommittedAt, ID: o.ID}
	})
	out := &pb.ListObservationsResponse{NextPageToken: next}
	for _, o := range obs {
		out.Observations = append(out.Observations, observationToPB(o))
	}
	return out, nil
}

var choiceToPB = map[string]pb.ConflictChoice{
	sync.ChoiceKeepServer:   pb.ConflictChoice_CONFLICT_CHOICE_KEEP_SERVER,
	sync.ChoiceTakeProposed: pb.ConflictChoice_CONFLICT_CHOICE_TAKE_PROPOSED,
	sync.ChoiceMerge:        pb.ConflictChoice_CONFLICT_CHOICE_MERGE,
}

var choiceFromPB = invert(choiceToPB)

func conflictToPB(c sync.ConflictView) *pb.Conflict {
	out := &pb.Conflict{ConflictId: c.ID, ObservationId: c.ObservationID, BaseRevision: uint32(c.BaseRevision),
		Server: observationToPB(c.Server), Proposed: RecordToPB(c.Proposed), ProposedContentHash: c.ProposedHash,
		ProposedBy: c.ProposedBy, DeviceId: c.DeviceID, CreateTime: ts(c.CreatedAt), ResolvedBy: c.ResolvedBy,
		ResolveTime: tsp(c.ResolvedAt), Resolution: choiceToPB[c.Resolution], Status: pb.ConflictStatus_CONFLICT_STATUS_OPEN}
	if c.Status == "resolved" {
		out.Status = pb.ConflictStatus_CONFLICT_STATUS_RESOLVED
	}
	return out
}

func (s *observationServer) ListConflicts(ctx context.Context, req *pb.ListConflictsRequest) (*pb.ListConflictsResponse, error) {
	after, err := decodePageToken(req.GetPageToken())
	if err != nil {
		return nil, fail(ctx, err)
	}
	status := "open"
	if req.GetStatus() == pb.ConflictStatus_CONFLICT_STATUS_RESOLVED {
		status = "resolved"
	}
	limit := pageSize(req.GetPageSize(), 100)
	cs, err := s.records.Conflicts(ctx, principalFrom(ctx), sync.ConflictQuery{Status: status, Limit: limit + 1, After: after})
	if err != nil {
		return nil, fail(ctx, err)
	}
	cs, next := trimPage(cs, limit, func(c sync.ConflictView) sync.PageMark { return sync.PageMark{CommittedAt: c.CreatedAt, ID: c.ID} })
	out := &pb.ListConflictsResponse{NextPageToken: next}
	for _, c := range cs {
		out.Conflicts = append(out.Conflicts, conflictToPB(c))
	}
	return out, nil
}

func (s *observationServer) ResolveConflict(ctx context.Context, req *pb.ResolveConflictRequest) (*pb.ResolveConflictResponse, error) {
	var merged *observation.Record
	if req.GetMerged() != nil {
		m := RecordFromPB(req.GetMerged())
		merged = &m
	}
	v, o, err := s.records.Resolve(ctx, principalFrom(ctx), req.GetConflictId(), choiceFromPB[req.GetChoice()], merged)
	if err != nil {
		return nil, fail(ctx, err)
	}
	return &pb.ResolveConflictResponse{Conflict: conflictToPB(v), Observation: observationToPB(o)}, nil
}
