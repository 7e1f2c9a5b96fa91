package server

import (
	"context"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/observation"
)

type rubricServer struct {
	pb.UnimplementedRubricServiceServer
	rubrics *observation.Rubrics
}

// language picks the response language: the request field, else the Accept-Language header
// (forwarded by the gateway), else English. "*" asks for every translation.
func language(ctx context.Context, field string) (string, error) {
	if strings.TrimSpace(field) == allLanguages {
		return allLanguages, nil
	}
	if field == "" {
		field = firstMD(ctx, mdLanguage)
		if lang, err := observation.NormalizeLanguage(field); err == nil {
			return lang, nil
		}
		return observation.DefaultLanguage, nil // a browser's header is a preference, not a demand
	}
	return observation.NormalizeLanguage(field)
}

func (s *rubricServer) ListRubrics(ctx context.Context, req *pb.ListRubricsRequest) (*pb.ListRubricsResponse, error) {
	lang, err := language(ctx, req.GetLanguage())
	if err != nil {
		return nil, fail(ctx, err)
	}
	rs, err := s.rubrics.List(ctx, principalFrom(ctx))
	if err != nil {
		return nil, fail(ctx, err)
	}
	out := &pb.ListRubricsResponse{Rubrics: make([]*pb.Rubric, 0, len(rs))}
	for _, r := range rs {
		out.Rubrics = append(out.Rubrics, rubricToPB(r, lang))
	}
	return out, nil
}

// parseVersion reads "latest" (0) or a version number from a path segment.
func parseVersion(s string) (int, error) {
	if s == "latest" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, observation.Invalid("version", "BAD_VERSION", "must be a version number (1, 2, …) or \"latest\", got %q", s)
	}
	return n, nil
}

// etagMatches implements If-None-Match: a list of entity tags, weak or strong, or "*".
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag || `"`+t+`"` == etag {
			return true
		}
	}
	return false
}

func (s *rubricServer) GetRubricVersion(ctx context.Context, req *pb.GetRubricVersionRequest) (*pb.GetRubricVersionResponse, error) {
	version, err := parseVersion(req.GetVersion())
	if err != nil {
		return nil, fail(ctx, err)
	}
	lang, err := language(ctx, req.GetLanguage())
	if err != nil {
		return nil, fail(ctx, err)
	}
	v, err := s.rubrics.Get(ctx, principalFrom(ctx), req.GetRubricId(), version)
	if err != nil {
		return nil, fail(ctx, err)
	}
	etag := v.ETag(lang)
	_ = grpc.SetHeader(ctx, metadata.Pairs(mdETag, etag))
	inm := req.GetIfNoneMatch()
	if inm == "" {
		inm = firstMD(ctx, mdIfNoneMatch)
	}
	if inm != "" && etagMatches(inm, etag) {
		return &pb.GetRubricVersionResponse{NotModified: true, Etag: etag}, nil
	}
	return &pb.GetRubricVersionResponse{Etag: etag, Version: versionToPB(v, lang)}, nil
}

func (s *rubricServer) CreateRubric(ctx context.Context, req *pb.CreateRubricRequest) (*pb.CreateRubricResponse, error) {
	v, err := s.rubrics.Create(ctx, principalFrom(ctx), req.GetOwnerId(), req.GetRubricId(), contentFromPB(req.GetContent()))
	if err != nil {
		return nil, fail(ctx, err)
	}
	return &pb.CreateRubricResponse{Version: versionToPB(v, allLanguages)}, nil
}

func (s *rubricServer) CreateDraftVersion(ctx context.Context, req *pb.CreateDraftVersionRequest) (*pb.CreateDraftVersionResponse, error) {
	var c *observation.RubricContent
	if req.GetContent() != nil {
		cc := contentFromPB(req.GetContent())
		c = &cc
	}
	v, err := s.rubrics.CreateDraft(ctx, principalFrom(ctx), req.GetRubricId(), c)
	if err != nil {
		return nil, fail(ctx, err)
	}
	return &pb.CreateDraftVersionResponse{Version: versionToPB(v, allLanguages)}, nil
}

func (s *rubricServer) UpdateDraftVersion(ctx context.Context, req *pb.UpdateDraftVersionRequest) (*pb.UpdateDraftVersionResponse, error) {
	v, err := s.rubrics.UpdateDraft(ctx, principalFrom(ctx), req.GetRubricId(), int(req.GetVersion()),
		contentFromPB(req.GetContent()), req.GetExpectedContentHash())
	if err != nil {
		return nil, fail(ctx, err)
	}
	return &pb.UpdateDraftVersionResponse{Version: versionToPB(v, allLanguages)}, nil
}

func (s *rubricServer) PublishVersion(ctx context.Context, req *pb.PublishVersionRequest) (*pb.PublishVersionResponse, error) {
	v, err := s.rubrics.Publish(ctx, principalFrom(ctx), req.GetRubricId(), int(req.GetVersion()))
	if err != nil {
		return nil, fail(ctx, err)
	}
	return &pb.PublishVersionResponse{Version: versionToPB(v, allLanguages)}, nil
}

func (s *rubricServer) RetireVersion(ctx context.Context, req *pb.RetireVersionRequest) (*pb.RetireVersionResponse, error) {
	v, err := s.rubrics.Retire(ctx, principalFrom(ctx), req.GetRubricId(), int(req.GetVersion()))
	if err != nil {
		return nil, fail(ctx, err)
	}
	return &pb.RetireVersionResponse{Version: versionToPB(v, allLanguages)}, nil
}
