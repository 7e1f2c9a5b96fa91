package server

import (
	"context"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"

	"github.com/lookfor-edu/lookfor/identity"
)

type identityServer struct {
	pb.UnimplementedIdentityServiceServer
	settings *identity.Settings
}

func (identityServer) WhoAmI(ctx context.Context, _ *pb.WhoAmIRequest) (*pb.WhoAmIResponse, error) {
	p := principalFrom(ctx)
	return &pb.WhoAmIResponse{UserId: p.UserID, Role: roleToPB[p.Role], DistrictId: p.DistrictID, SiteIds: p.SiteIDs, DeviceId: p.DeviceID}, nil
}

func (s identityServer) GetIdentitySettings(ctx context.Context, req *pb.GetIdentitySettingsRequest) (*pb.GetIdentitySettingsResponse, error) {
	ts, err := s.settings.Get(ctx, principalFrom(ctx), req.GetDistrictId())
	if err != nil {
		return nil, fail(ctx, err)
	}
	return &pb.GetIdentitySettingsResponse{Issuers: trustsToPB(ts)}, nil
}

func (s identityServer) UpdateIdentitySettings(ctx context.Context, req *pb.UpdateIdentitySettingsRequest) (*pb.UpdateIdentitySettingsResponse, error) {
	in := make([]identity.Trust, len(req.GetIssuers()))
	for i, t := range req.GetIssuers() {
		in[i] = identity.Trust{Issuer: t.GetIssuer(), Audiences: t.GetAudiences(), EmailDomains: t.GetEmailDomains(), LinkClaim: linkClaimFromPB[t.GetLinkClaim()]}
	}
	ts, err := s.settings.Replace(ctx, principalFrom(ctx), req.GetDistrictId(), in)
	if err != nil {
		return nil, fail(ctx, err)
	}
	return &pb.UpdateIdentitySettingsResponse{Issuers: trustsToPB(ts)}, nil
}

var linkClaimFromPB = map[pb.LinkClaim]identity.LinkClaim{
	pb.LinkClaim_LINK_CLAIM_UNSPECIFIED: identity.LinkEmail,
	pb.LinkClaim_LINK_CLAIM_EMAIL:       identity.LinkEmail,
	pb.LinkClaim_LINK_CLAIM_SUBJECT:     identity.LinkSubject,
}

func trustsToPB(ts []identity.Trust) []*pb.TrustedIssuer {
	out := make([]*pb.TrustedIssuer, len(ts))
	for i, t := range ts {
		claim := pb.LinkClaim_LINK_CLAIM_EMAIL
		if t.LinkClaim == identity.LinkSubject {
			claim = pb.LinkClaim_LINK_CLAIM_SUBJECT
		}
		out[i] = &pb.TrustedIssuer{Issuer: t.Issuer, Audiences: t.Audiences, EmailDomains: t.EmailDomains, LinkClaim: claim}
	}
	return out
}
