package server

import (
	"encoding/csv"
	"slices"
	"strings"
	"testing"

	"github.com/lookfor-edu/lookfor/progress"
)

// A suppressed or empty cell has no value on the wire, and a suppressed one no n either: a
// client cannot read either as 0.
func TestCellToPB(t *testing.T) {
	if c := cellToPB(progress.Cell{Suppressed: true, Reason: progress.SuppressReasonTeachers}); c.Value != nil || c.N != nil ||
		!c.GetSuppressed() || c.GetReason() != progress.SuppressReasonTeachers {
		t.Fatalf("suppressed: %v", c)
	}
	if c := cellToPB(progress.Cell{NoData: true}); c.Value != nil || c.N == nil || c.GetN() != 0 || !c.GetNoData() {
		t.Fatalf("no data: %v", c)
	}
	if c := cellToPB(progress.Cell{N: 4, Value: 0}); c.Value == nil || c.GetValue() != 0 || c.GetN() != 4 {
		t.Fatalf("a true 0: %v", c)
	}
}

// Text fields that a spreadsheet would run as formulas are defused; numbers, negative ones
// included, and everything else are written as they are.
func TestWriteCSV(t *testing.T) {
	body, err := writeCSV(progress.Table{Header: []string{"title", "value"}, Rows: [][]string{
		{"=HYPERLINK(\"http://x\")", "-0.25"},
		{"+1 more", "3"},
		{"@sum", "-1e-3"},
		{"Cedar Grove, \"east\"", ""},
		{"-", "+4"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), "\r\n") {
		t.Fatalf("lines do not end in CRLF: %q", body)
	}
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"title", "value"},
		{"'=HYPERLINK(\"http://x\")", "-0.25"},
		{"'+1 more", "3"},
		{"'@sum", "-1e-3"},
		{"Cedar Grove, \"east\"", ""},
		{"'-", "+4"},
	}
	for i := range want {
		if !slices.Equal(rows[i], want[i]) {
			t.Fatalf("row %d: %q, want %q", i, rows[i], want[i])
		}
	}
}

func TestExportFileName(t *testing.T) {
	for _, c := range []struct{ scope, site, view, period, want string }{
		{"riverbend-usd", "", "district_progress", "2025-26", "lookfor-riverbend-usd-district_progress-2025-26.csv"},
		{"riverbend-usd", "riverbend-usd.lincoln-es", "site_trends", "2025-26/T1", "lookfor-riverbend-usd-riverbend-usd.lincoln-es-site_trends-2025-26_T1.csv"},
		{"a:b", "", "goals", "", "lookfor-a_b-goals.csv"},
		{"network", "", "network_measures", "2026-W03", "lookfor-network-network_measures-2026-W03.csv"},
	} {
		if got := exportFileName(c.scope, c.site, c.view, c.period); got != c.want {
			t.Errorf("%v: %s, want %s", c, got, c.want)
		}
	}
}
