package server

import (
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/sync"
)

var kindToPB = map[observation.ObservationKind]pb.ObservationKind{
	observation.KindWalkthrough: pb.ObservationKind_OBSERVATION_KIND_WALKTHROUGH,
	observation.KindInformal:    pb.ObservationKind_OBSERVATION_KIND_INFORMAL,
	observation.KindFormal:      pb.ObservationKind_OBSERVATION_KIND_FORMAL,
	observation.KindCalibration: pb.ObservationKind_OBSERVATION_KIND_CALIBRATION,
}

var recordStatusToPB = map[observation.RecordStatus]pb.RecordStatus{
	observation.RecordDraft:     pb.RecordStatus_RECORD_STATUS_DRAFT,
	observation.RecordSubmitted: pb.RecordStatus_RECORD_STATUS_SUBMITTED,
}

var changeStatusToPB = map[sync.Status]pb.ChangeStatus{
	sync.StatusApplied:   pb.ChangeStatus_CHANGE_STATUS_APPLIED,
	sync.StatusDuplicate: pb.ChangeStatus_CHANGE_STATUS_DUPLICATE,
	sync.StatusConflict:  pb.ChangeStatus_CHANGE_STATUS_CONFLICT,
	sync.StatusRejected:  pb.ChangeStatus_CHANGE_STATUS_REJECTED,
}

var (
	kindFromPB         = invert(kindToPB)
	recordStatusFromPB = invert(recordStatusToPB)
	roleFromPB         = invert(roleToPB)
	changeStatusFromPB = invert(changeStatusToPB)
)

// enumName keeps an unknown enum value visible to the validator, so the rejection names it.
func enumName[E interface {
	comparable
	String() string
}, D ~string](m map[E]D, e E) D {
	if d, ok := m[e]; ok {
		return d
	}
	if strings.HasSuffix(e.String(), "_UNSPECIFIED") {
		return ""
	}
	return D(e.String())
}

func timeFromPB(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime().UTC()
}

// RecordFromPB converts a wire record to the domain.
func RecordFromPB(p *pb.ObservationRecord) observation.Record {
	r := observation.Record{
		ID: p.GetId(), DistrictID: p.GetDistrictId(), SiteID: p.GetSiteId(), ClassroomID: p.GetClassroomId(),
		Course: p.GetCourse(), Grade: p.GetGrade(), Section: p.GetSection(), TeacherID: p.GetTeacherId(),
		ObserverID: p.GetObserverId(), ObserverRole: enumName(roleFromPB, p.GetObserverRole()),
		Kind: enumName(kindFromPB, p.GetKind()), CoObservation: p.GetCoObservation(),
		RubricID: p.GetRubricId(), RubricVersion: int(p.GetRubricVersion()), Language: p.GetLanguage(),
		StartedAt: timeFromPB(p.GetStartedAt()), DurationMin: int(p.GetDurationMinutes()), DiscussionMin: int(p.GetDiscussionMinutes()),
		LessonFocus: p.GetLessonFocus(), NextSteps: p.GetNextSteps(), Status: enumName(recordStatusFromPB, p.GetStatus()),
		RecordedAt: timeFromPB(p.GetRecordedAt()),
	}
	// Lists made at their sizes; an empty one stays nil, as its canonical JSON (and so the
	// content hash) is null, not [].
	if n := len(p.GetScores()); n > 0 {
		r.Scores = make([]observation.Score, 0, n)
	}
	if n := len(p.GetTallies()); n > 0 {
		r.Tallies = make([]observation.Tally, 0, n)
	}
	if n := len(p.GetParticipation()); n > 0 {
		r.Participation = make([]observation.ParticipationCount, 0, n)
	}
	if n := len(p.GetEnrolment()); n > 0 {
		r.Enrolment = make([]observation.Enrolment, 0, n)
	}
	for _, s := range p.GetScores() {
		r.Scores = append(r.Scores, observation.Score{Dimension: s.GetDimension(), Level: int(s.GetLevel()), NotObserved: s.GetNotObserved(), Evidence: s.GetEvidence()})
	}
	for _, t := range p.GetTallies() {
		r.Tallies = append(r.Tallies, observation.Tally{Category: t.GetCategory(), Count: int(t.GetCount())})
	}
	for _, c := range p.GetParticipation() {
		r.Participation = append(r.Participation, observation.ParticipationCount{Field: c.GetField(), Option: c.GetOption(), Count: int(c.GetCount())})
	}
	for _, e := range p.GetEnrolment() {
		r.Enrolment = append(r.Enrolment, observation.Enrolment{Group: e.GetGroup(), Count: int(e.GetCount())})
	}
	return r
}

// RecordToPB converts a domain record to the wire.
func RecordToPB(r observation.Record) *pb.ObservationRecord {
	p := &pb.ObservationRecord{
		Id: r.ID, DistrictId: r.DistrictID, SiteId: r.SiteID, ClassroomId: r.ClassroomID, Course: r.Course, Grade: r.Grade,
		Section: r.Section, TeacherId: r.TeacherID, ObserverId: r.ObserverID, ObserverRole: roleToPB[r.ObserverRole],
		Kind: kindToPB[r.Kind], CoObservation: r.CoObservation, RubricId: r.RubricID, RubricVersion: uint32(r.RubricVersion),
		Language: r.Language, StartedAt: ts(r.StartedAt), DurationMinutes: int32(r.DurationMin), DiscussionMinutes: int32(r.DiscussionMin),
		LessonFocus: r.LessonFocus, NextSteps: r.NextSteps, Status: recordStatusToPB[r.Status], RecordedAt: ts(r.RecordedAt),
	}
	p.Scores, p.Tallies = make([]*pb.Score, 0, len(r.Scores)), make([]*pb.Tally, 0, len(r.Tallies))
	p.Participation, p.Enrolment = make([]*pb.ParticipationCount, 0, len(r.Participation)), make([]*pb.Enrolment, 0, len(r.Enrolment))
	for _, s := range r.Scores {
		p.Scores = append(p.Scores, &pb.Score{Dimension: s.Dimension, Level: int32(s.Level), NotObserved: s.NotObserved, Evidence: s.Evidence})
	}
	for _, t := range r.Tallies {
		p.Tallies = append(p.Tallies, &pb.Tally{Category: t.Category, Count: int32(t.Count)})
	}
	for _, c := range r.Participation {
		p.Participation = append(p.Participation, &pb.ParticipationCount{Field: c.Field, Option: c.Option, Count: int32(c.Count)})
	}
	for _, e := range r.Enrolment {
		p.Enrolment = append(p.Enrolment, &pb.Enrolment{Group: e.Group, Count: int32(e.Count)})
	}
	return p
}

// observationToPB converts a stored observation to the wire.
func observationToPB(o observation.StoredObservation) *pb.Observation {
	return &pb.Observation{Record: RecordToPB(o.Record), Revision: uint32(o.Revision), ContentHash: o.ContentHash,
		Deleted: o.Deleted, UpdatedBy: o.UpdatedBy, DeviceId: o.DeviceID, CommitTime: ts(o.CommittedAt), SubmitTime: ts(o.SubmittedAt)}
}

// observationFromPB converts a wire observation to the domain.
func observationFromPB(p *pb.Observation) observation.StoredObservation {
	return observation.StoredObservation{Record: RecordFromPB(p.GetRecord()), Revision: int(p.GetRevision()), ContentHash: p.GetContentHash(),
		Deleted: p.GetDeleted(), UpdatedBy: p.GetUpdatedBy(), DeviceID: p.GetDeviceId(), CommittedAt: timeFromPB(p.GetCommitTime()),
		SubmittedAt: timeFromPB(p.GetSubmitTime())}
}

// changeFromPB converts one pushed change. Unknown ops stay visible so the result names them.
func changeFromPB(c *pb.Change) sync.Change {
	ch := sync.Change{Seq: c.GetSeq(), ObservationID: c.GetObservationId(), BaseRevision: int(c.GetBaseRevision()), Fields: c.GetFields()}
	switch c.GetOp() {
	case pb.ChangeOp_CHANGE_OP_UPSERT:
		ch.Op = sync.OpUpsert
	case pb.ChangeOp_CHANGE_OP_DELETE:
		ch.Op = sync.OpDelete
	default:
		ch.Op = sync.Op(c.GetOp().String())
	}
	if c.GetRecord() != nil {
		ch.Record = RecordFromPB(c.GetRecord())
	}
	return ch
}

// ChangeToPB converts one change to the wire.
func ChangeToPB(c sync.Change) *pb.Change {
	op := pb.ChangeOp_CHANGE_OP_UPSERT
	if c.Op == sync.OpDelete {
		op = pb.ChangeOp_CHANGE_OP_DELETE
	}
	out := &pb.Change{Seq: c.Seq, Op: op, ObservationId: c.ObservationID, BaseRevision: uint32(c.BaseRevision), Fields: c.Fields}
	if c.Op == sync.OpUpsert {
		out.Record = RecordToPB(c.Record)
	}
	return out
}

// resultToPB converts one change result to the wire.
func resultToPB(r sync.Result) *pb.ChangeResult {
	out := &pb.ChangeResult{Seq: r.Seq, ObservationId: r.ObservationID, Status: changeStatusToPB[r.Status], Revision: uint32(r.Revision),
		ContentHash: r.ContentHash, Reason: r.Reason, Field: r.Field, Message: r.Message, ExpectedSeq: r.ExpectedSeq,
		ConflictId: r.ConflictID, Replayed: r.Replayed}
	if r.Server != nil {
		out.Server = observationToPB(*r.Server)
	}
	return out
}

// resultFromPB converts one change result from the wire.
func resultFromPB(p *pb.ChangeResult) sync.Result {
	r := sync.Result{Seq: p.GetSeq(), ObservationID: p.GetObservationId(), Status: changeStatusFromPB[p.GetStatus()],
		Revision: int(p.GetRevision()), ContentHash: p.GetContentHash(), Reason: p.GetReason(), Field: p.GetField(),
		Message: p.GetMessage(), ExpectedSeq: p.GetExpectedSeq(), ConflictID: p.GetConflictId(), Replayed: p.GetReplayed()}
	if p.GetServer() != nil {
		o := observationFromPB(p.GetServer())
		r.Server = &o
	}
	return r
}

// PushFromPB decodes a push request into the domain.
func PushFromPB(req *pb.PushRequest) sync.PushRequest {
	out := sync.PushRequest{DeviceID: req.GetDeviceId(), Cursor: req.GetCursor(), ClientVersion: req.GetClientVersion(),
		SchemaVersion: int(req.GetSchemaVersion()), Changes: make([]sync.Change, len(req.GetChanges()))}
	for i, c := range req.GetChanges() {
		out.Changes[i] = changeFromPB(c)
	}
	return out
}

var versionStatusNameToPB = map[observation.VersionStatus]pb.VersionStatusName{
	observation.StatusPublished: pb.VersionStatusName_VERSION_STATUS_NAME_PUBLISHED,
	observation.StatusRetired:   pb.VersionStatusName_VERSION_STATUS_NAME_RETIRED,
}

var tombstoneToPB = map[sync.TombstoneReason]pb.TombstoneReason{
	sync.TombstoneDeleted:    pb.TombstoneReason_TOMBSTONE_REASON_DELETED,
	sync.TombstoneOutOfScope: pb.TombstoneReason_TOMBSTONE_REASON_OUT_OF_SCOPE,
}

// pullToPB converts a pull page to the wire.
func pullToPB(p sync.PullPage) *pb.PullResponse {
	out := &pb.PullResponse{Cursor: p.Cursor, HasMore: p.HasMore, Reset_: p.Reset}
	for _, r := range p.Rubrics {
		out.Rubrics = append(out.Rubrics, &pb.RubricChange{RubricId: r.RubricID, Version: uint32(r.Version), Status: versionStatusNameToPB[r.Status], ContentHash: r.ContentHash})
	}
	for _, o := range p.Upserts {
		out.Upserts = append(out.Upserts, observationToPB(o))
	}
	for _, t := range p.Tombstones {
		out.Tombstones = append(out.Tombstones, &pb.Tombstone{ObservationId: t.ObservationID, Reason: tombstoneToPB[t.Reason]})
	}
	return out
}

// pullFromPB converts a pull page from the wire.
func pullFromPB(p *pb.PullResponse) sync.PullPage {
	out := sync.PullPage{Cursor: p.GetCursor(), HasMore: p.GetHasMore(), Reset: p.GetReset_()}
	stFrom, tsFrom := invert(versionStatusNameToPB), invert(tombstoneToPB)
	for _, r := range p.GetRubrics() {
		out.Rubrics = append(out.Rubrics, sync.RubricChange{RubricID: r.GetRubricId(), Version: int(r.GetVersion()), Status: stFrom[r.GetStatus()], ContentHash: r.GetContentHash()})
	}
	for _, o := range p.GetUpserts() {
		out.Upserts = append(out.Upserts, observationFromPB(o))
	}
	for _, t := range p.GetTombstones() {
		out.Tombstones = append(out.Tombstones, sync.Tombstone{ObservationID: t.GetObservationId(), Reason: tsFrom[t.GetReason()]})
	}
	return out
}
