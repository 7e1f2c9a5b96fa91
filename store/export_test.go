package store

import "github.com/lookfor-edu/lookfor/progress"

// SetStageRows sets the delta size from which aggregate rows are applied through staging
// tables and returns the previous one. Only for tests that do not run in parallel.
func SetStageRows(n int) int {
	old := stageRows
	stageRows = n
	return old
}

// Classify is classify, for tests of errors no store method produces on demand.
var Classify = classify

// DecodeMetrics is the aggregate counters' decoder, for its fuzz test.
func DecodeMetrics(b []byte) (progress.Metrics, error) { return newMetricsDecoder().decode(b) }

// SetLoadFlushCells sets the cell rows from which a Loader writes its accumulated delta out and
// returns the previous value. Only for tests that do not run in parallel.
func SetLoadFlushCells(n int) int {
	old := loadFlushCells
	loadFlushCells = n
	return old
}

// SetBulkShardMin sets the fewest changes a load's delta computation gives a core of its own,
// and returns the previous value. Only for tests that do not run in parallel.
func SetBulkShardMin(n int) int {
	old := bulkShardMin
	bulkShardMin = n
	return old
}

// ApplyDelta is applyDelta: what the compactor and small seeds write into the aggregate rows.
var ApplyDelta = applyDelta

// ObservationsSQL is observationsSQL, the observation count of counters read in PostgreSQL.
var ObservationsSQL = observationsSQL

// GroupMembersSQL is the read of co-observation groups' members.
const GroupMembersSQL = groupMembersSQL

// PushLookups are the statements a push reads the observations its changes name with, and
// sample arguments of each (district d1).
var PushLookups = []struct {
	Name, SQL string
	Args      []any
}{
	{"observations", pushObservationsSQL, []any{"d1", []string{"01a24b60-9826-748c-948f-08f3c4a0d804"}}},
	{"classrooms", pushClassroomsSQL, []any{"d1", []string{"c1"}, []string{"01a24b60-9826-748c-948f-08f3c4a0d804"}}},
	{"rubrics", pushRubricsSQL, []any{[]string{"r"}, []int32{1}, []string{"01a24b60-9826-748c-948f-08f3c4a0d804"}, []string{}}},
}
