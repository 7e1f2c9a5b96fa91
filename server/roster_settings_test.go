package server_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
)

// ---------------------------------------------------------------------------------------------
// District settings

func TestDistrictSettings(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	rc := rosterClient(e)
	ctx := roleCtx(t, e, observation.RoleDistrictAdmin)
	tok := e.TokenFor(t, observation.RoleDistrictAdmin)
	base := "/v1/districts/" + rbDistrict + "/settings"

	got, err := rc.GetDistrictSettings(ctx, &pb.GetDistrictSettingsRequest{DistrictId: rbDistrict})
	if err != nil {
		t.Fatal(err)
	}
	s0 := got.GetSettings()
	if s0.GetSchoolYearStartMonth() != 8 || s0.GetSuppressionThreshold() != observation.NetworkMinSuppression || !s0.GetNetworkOptIn() ||
		len(s0.GetWindows()) != 3 || len(s0.GetStudentGroups()) != 6 || !slices.Equal(s0.GetLanguages(), []string{"en", "es"}) {
		t.Fatalf("settings %v", s0)
	}

	// PATCH over REST changes only the fields in the body, and audits before and after.
	r := e.Do(t, "PATCH", base, tok, `{"suppression_threshold": 15, "min_teachers_per_cell": 4}`)
	wantREST(t, r, http.StatusOK, codes.OK)
	var up pb.UpdateDistrictSettingsResponse
	decode(t, r.Body, &up)
	if !up.GetChanged() || up.GetSettings().GetSuppressionThreshold() != 15 || up.GetSettings().GetMinTeachersPerCell() != 4 ||
		len(up.GetSettings().GetWindows()) != 3 || !up.GetSettings().GetNetworkOptIn() || !up.GetUpdateTime().AsTime().After(got.GetUpdateTime().AsTime()) {
		t.Fatalf("PATCH: %s", r.Body)
	}
	if n := auditCount(t, e, rbDistrict, "district.update_settings"); n != 1 {
		t.Fatalf("%d settings audit entries, want 1", n)
	}
	d := lastAuditDetails(t, e, rbDistrict, "district.update_settings")
	before, _ := d["before"].(map[string]any)
	after, _ := d["after"].(map[string]any)
	if before["suppression_threshold"] != float64(11) || after["suppression_threshold"] != float64(15) ||
		fmt.Sprint(d["changed"]) != "[suppression_threshold min_teachers_per_cell]" || d["_actor"] != e.Users[observation.RoleDistrictAdmin].UserID {
		t.Fatalf("audit details %v", d)
	}

	// The same values again change nothing: no write, no audit entry, the same update time.
	r = e.Do(t, "PATCH", base, tok, `{"suppression_threshold": 15}`)
	wantREST(t, r, http.StatusOK, codes.OK)
	var same pb.UpdateDistrictSettingsResponse
	decode(t, r.Body, &same)
	if same.GetChanged() || !same.GetUpdateTime().AsTime().Equal(up.GetUpdateTime().AsTime()) {
		t.Fatalf("no-op PATCH: %s", r.Body)
	}
	if n := auditCount(t, e, rbDistrict, "district.update_settings"); n != 1 {
		t.Fatalf("%d settings audit entries after a no-op, want 1", n)
	}

	// Invalid values are refused, naming the field; nothing changes.
	for body, field := range map[string]string{
		`{"suppression_threshold": 10}`:   "settings.suppression_threshold",
		`{"suppression_threshold": 0}`:    "settings.suppression_threshold",
		`{"min_teachers_per_cell": 2}`:    "settings.min_teachers_per_cell",
		`{"proficiency_level": 11}`:       "settings.proficiency_level",
		`{"proficiency_level": -1}`:       "settings.proficiency_level",
		`{"school_year_start_month": 13}`: "settings.school_year_start_month",
		`{"windows": [{"key":"fall","title":"Fall","start_month":9,"start_day":31,"end_month":10,"end_day":1}]}`: "settings.windows[0].start_day",
		`{"windows": [{"key":"fall","title":"Fall","start_month":10,"start_day":1,"end_month":9,"end_day":1}]}`:  "settings.windows[0].end_month",
		`{"student_groups": [{"key":"ml","label":"A"},{"key":"ml","label":"B"}]}`:                                "settings.student_groups[1].key",
		`{"languages": ["es"]}`: "settings.languages[0]",
	} {
		r := e.Do(t, "PATCH", base, tok, body)
		st := wantREST(t, r, http.StatusBadRequest, codes.InvalidArgument)
		if v := violationsOf(st); !slices.Equal(v, []string{field}) {
			t.Errorf("%s: violations %v (%s), want %s", body, v, st.Message(), field)
		}
	}
	if n := auditCount(t, e, rbDistrict, "district.update_settings"); n != 1 {
		t.Fatalf("refused updates were audited: %d entries", n)
	}

	// Over gRPC with an explicit mask; an unknown mask path is refused.
	s := &pb.DistrictSettings{NetworkOptIn: false, ProficiencyLevel: 3}
	g, err := rc.UpdateDistrictSettings(ctx, &pb.UpdateDistrictSettingsRequest{DistrictId: rbDistrict, Settings: s,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"network_opt_in", "proficiency_level"}}})
	if err != nil || !g.GetChanged() || g.GetSettings().GetNetworkOptIn() || g.GetSettings().GetProficiencyLevel() != 3 || g.GetSettings().GetSuppressionThreshold() != 15 {
		t.Fatalf("gRPC update: %v %v", g, err)
	}
	_, err = rc.UpdateDistrictSettings(ctx, &pb.UpdateDistrictSettingsRequest{DistrictId: rbDistrict, Settings: s,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"colour"}}})
	wantViolation(t, err, "update_mask")
	// Without a mask every field is replaced: an incomplete settings message is refused.
	_, err = rc.UpdateDistrictSettings(ctx, &pb.UpdateDistrictSettingsRequest{DistrictId: rbDistrict, Settings: s})
	wantViolation(t, err, "settings.school_year_start_month")
	if n := auditCount(t, e, rbDistrict, "district.update_settings"); n != 2 {
		t.Fatalf("%d settings audit entries, want 2", n)
	}
	// Another district's settings are not found; the admin's are.
	_, err = rc.UpdateDistrictSettings(ctx, &pb.UpdateDistrictSettingsRequest{DistrictId: mvDistrict, Settings: s,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"network_opt_in"}}})
	wantCode(t, err, codes.NotFound)
	if _, err := rc.GetDistrictSettings(roleCtx(t, e, observation.RoleAdmin), &pb.GetDistrictSettingsRequest{DistrictId: mvDistrict}); err != nil {
		t.Fatal(err)
	}
	wantREST(t, e.Do(t, "GET", base, e.TokenFor(t, observation.RoleCoach), ""), http.StatusOK, codes.OK)
}
