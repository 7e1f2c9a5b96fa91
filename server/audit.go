package server

import (
	"context"
	"strconv"

	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/observation"
)

type auditServer struct {
	pb.UnimplementedAuditServiceServer
	log *observation.AuditLog
}

func (s *auditServer) ListAuditEntries(ctx context.Context, req *pb.ListAuditEntriesRequest) (*pb.ListAuditEntriesResponse, error) {
	var before int64
	if t := req.GetPageToken(); t != "" {
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil || n <= 0 {
			return nil, fail(ctx, observation.Invalid("page_token", "BAD_PAGE_TOKEN", "the page token is not one this server issued"))
		}
		before = n
	}
	limit := pageSize(req.GetPageSize(), 100)
	q := observation.AuditQuery{DistrictID: req.GetDistrictId(), Actor: req.GetActor(), Action: req.GetAction(),
		ResourceType: req.GetResourceType(), ResourceID: req.GetResourceId(), Limit: limit + 1, BeforeID: before}
	if req.GetSince() != nil {
		q.Since = req.GetSince().AsTime()
	}
	if req.GetUntil() != nil {
		q.Until = req.GetUntil().AsTime()
	}
	entries, err := s.log.List(ctx, principalFrom(ctx), q)
	if err != nil {
		return nil, fail(ctx, err)
	}
	out := &pb.ListAuditEntriesResponse{}
	if len(entries) > limit {
		entries = entries[:limit]
		out.NextPageToken = strconv.FormatInt(entries[len(entries)-1].ID, 10)
	}
	for _, e := range entries {
		details, err := structpb.NewStruct(e.Details)
		if err != nil {
			details = nil // details are JSON written by lookfor itself; never expected
		}
		out.Entries = append(out.Entries, &pb.AuditEntry{AuditId: e.ID, DistrictId: e.DistrictID, Time: ts(e.At), Actor: e.Actor,
			Role: roleToPB[e.Role], DeviceId: e.DeviceID, Action: e.Action, ResourceType: e.ResourceType, ResourceId: e.ResourceID,
			Details: details})
	}
	return out, nil
}
