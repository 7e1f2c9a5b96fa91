package server

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/observation"
)

// allLanguages asks for every translation instead of one language.
const allLanguages = "*"

// text converts a domain Text to the wire map, keeping only lang unless lang is "*".
func text(t observation.Text, lang string) map[string]string {
	if len(t) == 0 {
		return nil
	}
	if lang == allLanguages {
		out := make(map[string]string, len(t))
		for k, v := range t {
			out[k] = v
		}
		return out
	}
	if s := t.In(lang); s != "" {
		return map[string]string{lang: s}
	}
	return nil
}

func textFromPB(m map[string]string) observation.Text {
	if len(m) == 0 {
		return nil
	}
	out := make(observation.Text, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func tsp(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return ts(*t)
}

var statusToPB = map[observation.VersionStatus]pb.VersionStatus{
	observation.StatusDraft:     pb.VersionStatus_VERSION_STATUS_DRAFT,
	observation.StatusPublished: pb.VersionStatus_VERSION_STATUS_PUBLISHED,
	observation.StatusRetired:   pb.VersionStatus_VERSION_STATUS_RETIRED,
}

var speakerToPB = map[observation.Speaker]pb.Speaker{
	observation.SpeakerTeacher: pb.Speaker_SPEAKER_TEACHER,
	observation.SpeakerStudent: pb.Speaker_SPEAKER_STUDENT,
}

var measureToPB = map[observation.Measure]pb.Measure{
	observation.MeasureNone:      pb.Measure_MEASURE_UNSPECIFIED,
	observation.MeasurePress:     pb.Measure_MEASURE_PRESS,
	observation.MeasureReasoning: pb.Measure_MEASURE_REASONING,
}

var roleToPB = map[observation.Role]pb.Role{
	observation.RoleCoach:          pb.Role_ROLE_COACH,
	observation.RolePrincipal:      pb.Role_ROLE_PRINCIPAL,
	observation.RoleDistrictAdmin:  pb.Role_ROLE_DISTRICT_ADMIN,
	observation.RoleNetworkAnalyst: pb.Role_ROLE_NETWORK_ANALYST,
	observation.RoleAdmin:          pb.Role_ROLE_ADMIN,
}

// invert builds the reverse of a one-to-one enum map.
func invert[K, V comparable](m map[K]V) map[V]K {
	out := make(map[V]K, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

var (
	speakerFromPB = invert(speakerToPB)
	measureFromPB = invert(measureToPB)
)

func contentToPB(c observation.RubricContent, lang string) *pb.RubricContent {
	out := &pb.RubricContent{
		Title:            text(c.Title, lang),
		Description:      text(c.Description, lang),
		Languages:        c.Languages,
		MinLevel:         int32(c.MinLevel),
		MaxLevel:         int32(c.MaxLevel),
		ProficiencyLevel: int32(c.ProficiencyLevel),
		NotObserved: &pb.NotObservedValue{
			Code:        c.NotObserved.Code,
			Label:       text(c.NotObserved.Label, lang),
			Description: text(c.NotObserved.Description, lang),
		},
	}
	for _, d := range c.Dimensions {
		pd := &pb.Dimension{Key: d.Key, Title: text(d.Title, lang), Description: text(d.Description, lang),
			AllowNotObserved: d.AllowNotObserved, NotComparable: d.NotComparable}
		for _, l := range d.Levels {
			pd.Levels = append(pd.Levels, &pb.LevelDescriptor{Level: int32(l.Level), Label: text(l.Label, lang), Descriptor_: text(l.Descriptor, lang)})
		}
		out.Dimensions = append(out.Dimensions, pd)
	}
	for _, t := range c.TallyCategories {
		out.TallyCategories = append(out.TallyCategories, &pb.TallyCategory{Key: t.Key, Speaker: speakerToPB[t.Speaker],
			Title: text(t.Title, lang), Description: text(t.Description, lang), Measure: measureToPB[t.Measure]})
	}
	for _, f := range c.Participation {
		pf := &pb.ParticipationField{Key: f.Key, Title: text(f.Title, lang), Description: text(f.Description, lang), DistrictDefined: f.DistrictDefined}
		for _, o := range f.Options {
			pf.Options = append(pf.Options, &pb.Option{Key: o.Key, Label: text(o.Label, lang)})
		}
		out.ParticipationFields = append(out.ParticipationFields, pf)
	}
	return out
}

// contentFromPB converts wire content for validation by the domain. Unknown enum numbers are
// kept visible (as invalid speaker/measure values) so the domain names the field.
func contentFromPB(p *pb.RubricContent) observation.RubricContent {
	c := observation.RubricContent{
		Title:            textFromPB(p.GetTitle()),
		Description:      textFromPB(p.GetDescription()),
		Languages:        p.GetLanguages(),
		MinLevel:         int(p.GetMinLevel()),
		MaxLevel:         int(p.GetMaxLevel()),
		ProficiencyLevel: int(p.GetProficiencyLevel()),
		NotObserved: observation.NotObservedValue{
			Code:        p.GetNotObserved().GetCode(),
			Label:       textFromPB(p.GetNotObserved().GetLabel()),
			Description: textFromPB(p.GetNotObserved().GetDescription()),
		},
	}
	for _, d := range p.GetDimensions() {
		od := observation.Dimension{Key: d.GetKey(), Title: textFromPB(d.GetTitle()), Description: textFromPB(d.GetDescription()),
			AllowNotObserved: d.GetAllowNotObserved(), NotComparable: d.GetNotComparable()}
		for _, l := range d.GetLevels() {
			od.Levels = append(od.Levels, observation.LevelDescriptor{Level: int(l.GetLevel()), Label: textFromPB(l.GetLabel()), Descriptor: textFromPB(l.GetDescriptor_())})
		}
		c.Dimensions = append(c.Dimensions, od)
	}
	for _, t := range p.GetTallyCategories() {
		sp, ok := speakerFromPB[t.GetSpeaker()]
		if !ok {
			sp = observation.Speaker(t.GetSpeaker().String())
		}
		ms, ok := measureFromPB[t.GetMeasure()]
		if !ok {
			ms = observation.Measure(t.GetMeasure().String())
		}
		c.TallyCategories = append(c.TallyCategories, observation.TallyCategory{Key: t.GetKey(), Speaker: sp,
			Title: textFromPB(t.GetTitle()), Description: textFromPB(t.GetDescription()), Measure: ms})
	}
	for _, f := range p.GetParticipationFields() {
		of := observation.ParticipationField{Key: f.GetKey(), Title: textFromPB(f.GetTitle()), Description: textFromPB(f.GetDescription()), DistrictDefined: f.GetDistrictDefined()}
		for _, o := range f.GetOptions() {
			of.Options = append(of.Options, observation.Option{Key: o.GetKey(), Label: textFromPB(o.GetLabel())})
		}
		c.Participation = append(c.Participation, of)
	}
	return c
}

func versionToPB(v observation.RubricVersion, lang string) *pb.RubricVersion {
	return &pb.RubricVersion{
		OwnerId:     v.OwnerID,
		RubricId:    v.RubricID,
		Version:     uint32(v.Version),
		Status:      statusToPB[v.Status],
		ContentHash: v.ContentHash,
		Etag:        v.ETag(lang),
		Language:    lang,
		Content:     contentToPB(v.Content, lang),
		CreatedBy:   v.CreatedBy,
		CreateTime:  ts(v.CreatedAt),
		UpdateTime:  ts(v.UpdatedAt),
		PublishTime: tsp(v.PublishedAt),
		RetireTime:  tsp(v.RetiredAt),
	}
}

func rubricToPB(r observation.Rubric, lang string) *pb.Rubric {
	out := &pb.Rubric{OwnerId: r.OwnerID, RubricId: r.ID, Title: text(r.Title, lang), LatestPublishedVersion: uint32(r.LatestPublished)}
	for _, v := range r.Versions {
		out.Versions = append(out.Versions, &pb.VersionSummary{Version: uint32(v.Version), Status: statusToPB[v.Status],
			ContentHash: v.ContentHash, UpdateTime: ts(v.UpdatedAt)})
	}
	return out
}
