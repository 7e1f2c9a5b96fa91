package server

import (
	"context"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"

	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/observation"
)

type identityServer struct {
	pb.UnimplementedIdentityServiceServer
	settings *identity.Settings
	network  *identity.NetworkPeople
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
		in[i] = identity.Trust{Issuer: t.GetIssuer(), Audiences: t.GetAudiences(), EmailDomains: t.GetEmailDomains(), LinkClaim: linkClaimFromPB[t.GetLinkClaim()],
			WebClientID: t.GetWebClientId(), WebClientSecretRef: t.GetWebClientSecretRef()}
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
		out[i] = &pb.TrustedIssuer{Issuer: t.Issuer, Audiences: t.Audiences, EmailDomains: t.EmailDomains, LinkClaim: claim,
			WebClientId: t.WebClientID, WebClientSecretRef: t.WebClientSecretRef}
	}
	return out
}

func (s identityServer) ListNetworkStaff(ctx context.Context, _ *pb.ListNetworkStaffRequest) (*pb.ListNetworkStaffResponse, error) {
	people, err := s.network.List(ctx, principalFrom(ctx))
	if err != nil {
		return nil, fail(ctx, err)
	}
	out := &pb.ListNetworkStaffResponse{Staff: make([]*pb.NetworkStaff, len(people))}
	for i, n := range people {
		out.Staff[i] = networkStaffToPB(n)
	}
	return out, nil
}

func (s identityServer) UpsertNetworkStaff(ctx context.Context, req *pb.UpsertNetworkStaffRequest) (*pb.UpsertNetworkStaffResponse, error) {
	in := req.GetStaff()
	role, ok := roleFromPB[in.GetRole()]
	if !ok {
		role = observation.Role(in.GetRole().String()) // refused by the domain, naming the value
	}
	n, err := s.network.Upsert(ctx, principalFrom(ctx), identity.NetworkStaff{StaffID: in.GetStaffId(), GivenName: in.GetGivenName(),
		FamilyName: in.GetFamilyName(), Email: in.GetEmail(), Role: role, Status: identity.Status(staffStatusFromPB[in.GetStatus()])})
	if err != nil {
		return nil, fail(ctx, err)
	}
	return &pb.UpsertNetworkStaffResponse{Staff: networkStaffToPB(n)}, nil
}

func networkStaffToPB(n identity.NetworkStaff) *pb.NetworkStaff {
	return &pb.NetworkStaff{StaffId: n.StaffID, GivenName: n.GivenName, FamilyName: n.FamilyName, Email: n.Email,
		Role: roleToPB[n.Role], Status: staffStatusToPB[string(n.Status)]}
}
