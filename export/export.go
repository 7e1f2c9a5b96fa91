// Package export takes a district's data out of lookfor and puts it back: one zip of JSON Lines
// and CSV files (its observations with every revision, the rubric versions they use, its roster,
// goals and identity settings), streamed as it is read, in one or several archives
// (docs/export.md). It decides who may export and what an archive holds; the store reads and
// writes the rows, the server and the command line carry the bytes.
package export

import (
	"archive/zip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

// Format and FormatVersion name the archive layout in manifest.json.
const (
	Format        = "lookfor.district-export"
	FormatVersion = 1
	// ManifestName is the archive's last entry, written once every part is complete.
	ManifestName = "manifest.json"
)

// Part is one table of a district's data, written as NAME.jsonl and NAME.csv.
type Part struct {
	Name string
	// Ranged parts hold the rows of the archive's observation range (observations, their
	// revisions and conflicts); the others are whole in every archive that holds them.
	Ranged bool
	// FirstOnly parts (the roster, goals, identity settings) are in the first archive only.
	FirstOnly bool
}

// Parts in the order they are written and imported (a row's references come before it).
var Parts = []Part{
	{Name: "district", FirstOnly: true},
	{Name: "sites", FirstOnly: true},
	{Name: "staff", FirstOnly: true},
	{Name: "staff_sites", FirstOnly: true},
	{Name: "classrooms", FirstOnly: true},
	{Name: "identity_issuers", FirstOnly: true},
	{Name: "identity_links", FirstOnly: true},
	{Name: "goals", FirstOnly: true},
	{Name: "rubrics"},
	{Name: "rubric_versions"},
	{Name: "observations", Ranged: true},
	{Name: "observation_revisions", Ranged: true},
	{Name: "conflicts", Ranged: true},
}

// Range is the observations one archive holds: ids after After (empty: from the first) up to
// and including Through (empty: to the last).
type Range struct {
	After, Through string
}

// Snapshot reads one district's rows from a single consistent view of the database.
type Snapshot interface {
	// SchemaVersion is the database's migration version: an archive imports into a database
	// migrated to the same version.
	SchemaVersion(ctx context.Context) (int64, error)
	DistrictExists(ctx context.Context, districtID string) (bool, error)
	// Bound returns the id of the max-th observation after after (max > 0), or "" when fewer
	// than max remain.
	Bound(ctx context.Context, districtID, after string, max int) (string, error)
	// Columns are a part's fields in order: the CSV header and the keys of each JSON row.
	Columns(ctx context.Context, part string) ([]string, error)
	// Rows calls fn with each row of part as a JSON object, in primary-key order, as the
	// database sends them (never the whole part in memory).
	Rows(ctx context.Context, part, districtID string, r Range, fn func(json.RawMessage) error) error
}

// Source runs fn on a read-only snapshot of the database.
type Source interface {
	ExportSnapshot(ctx context.Context, fn func(Snapshot) error) error
	Audit(ctx context.Context, e observation.AuditEntry) error
}

// Request is one archive to write.
type Request struct {
	DistrictID string
	// After continues an export after this observation id (the previous manifest's NextAfter).
	After string
	// MaxObservations bounds the archive's observations; 0 means all.
	MaxObservations int
}

// PartCount is how many rows an archive holds of a part.
type PartCount struct {
	Name string `json:"name"`
	Rows int64  `json:"rows"`
}

// Manifest describes one archive; it is the last entry of the zip.
type Manifest struct {
	Format          string      `json:"format"`
	FormatVersion   int         `json:"format_version"`
	DistrictID      string      `json:"district_id"`
	ExportedAt      time.Time   `json:"exported_at"`
	SchemaVersion   int64       `json:"schema_version"`
	After           string      `json:"after"`
	Through         string      `json:"through"`
	MaxObservations int         `json:"max_observations"`
	Complete        bool        `json:"complete"`
	NextAfter       string      `json:"next_after"`
	Parts           []PartCount `json:"parts"`
}

// Exporter writes archives.
type Exporter struct {
	Source Source
	Now    func() time.Time
}

func (e *Exporter) now() time.Time {
	if e.Now != nil {
		return e.Now().UTC()
	}
	return time.Now().UTC()
}

// Authorize says whether p may export district d: its own district admins and network admins.
// Anyone else gets the answer other district reads get: NOT_FOUND outside their district.
func Authorize(p observation.Principal, d string) error {
	if err := observation.ValidateID("district_id", d); err != nil {
		return err
	}
	switch {
	case p.Role == observation.RoleAdmin:
		return nil
	case p.Role == observation.RoleDistrictAdmin && p.DistrictID == d:
		return nil
	case p.InDistrict(d):
		return observation.Denied("only district admins export their district's data")
	default:
		return observation.NotFound("district", d)
	}
}

func validate(req Request) error {
	if req.After != "" && !isUUID(req.After) {
		return observation.Invalid("after", "INVALID_VALUE", "after must be an observation id (a UUID) from a manifest's next_after")
	}
	if req.MaxObservations < 0 {
		return observation.Invalid("max_observations", "INVALID_VALUE", "max_observations must be 0 (all) or more")
	}
	return nil
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// Export checks that p may export req.DistrictID, records the export in the district's audit
// log, and writes the archive to w as it reads it. Nothing is written to w before the checks
// pass, so a refusal is a clean error. An error after writing began leaves w holding a zip
// without its directory, which no zip reader accepts.
func (e *Exporter) Export(ctx context.Context, p observation.Principal, req Request, w io.Writer) (Manifest, error) {
	if err := Authorize(p, req.DistrictID); err != nil {
		return Manifest{}, err
	}
	if err := validate(req); err != nil {
		return Manifest{}, err
	}
	var m Manifest
	err := e.Source.ExportSnapshot(ctx, func(s Snapshot) error {
		ok, err := s.DistrictExists(ctx, req.DistrictID)
		if err != nil {
			return err
		}
		if !ok {
			return observation.NotFound("district", req.DistrictID)
		}
		m = Manifest{Format: Format, FormatVersion: FormatVersion, DistrictID: req.DistrictID, ExportedAt: e.now(),
			After: req.After, MaxObservations: req.MaxObservations}
		if m.SchemaVersion, err = s.SchemaVersion(ctx); err != nil {
			return err
		}
		if req.MaxObservations > 0 {
			if m.Through, err = s.Bound(ctx, req.DistrictID, req.After, req.MaxObservations); err != nil {
				return err
			}
		}
		m.Complete, m.NextAfter = m.Through == "", m.Through
		a := observation.Audit(p, req.DistrictID, "district.export", "district", req.DistrictID, m.ExportedAt)
		a.Details = map[string]any{"after": req.After, "through": m.Through, "max_observations": req.MaxObservations}
		if err := e.Source.Audit(ctx, a); err != nil {
			return err
		}
		return writeArchive(ctx, s, &m, w)
	})
	return m, err
}

// writeArchive writes every part of m's range as JSON Lines and CSV, then the manifest.
func writeArchive(ctx context.Context, s Snapshot, m *Manifest, w io.Writer) error {
	z := zip.NewWriter(w)
	r := Range{After: m.After, Through: m.Through}
	for _, part := range Parts {
		if part.FirstOnly && m.After != "" {
			continue
		}
		cols, err := s.Columns(ctx, part.Name)
		if err != nil {
			return err
		}
		n, err := writeJSONL(ctx, z, s, part.Name, m.DistrictID, r)
		if err != nil {
			return err
		}
		if err := writeCSV(ctx, z, s, part.Name, cols, m.DistrictID, r); err != nil {
			return err
		}
		m.Parts = append(m.Parts, PartCount{Name: part.Name, Rows: n})
	}
	f, err := z.Create(ManifestName)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return err
	}
	return z.Close()
}

func writeJSONL(ctx context.Context, z *zip.Writer, s Snapshot, part, d string, r Range) (int64, error) {
	f, err := z.Create(part + ".jsonl")
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.Rows(ctx, part, d, r, func(row json.RawMessage) error {
		n++
		if _, err := f.Write(row); err != nil {
			return err
		}
		_, err := f.Write([]byte{'\n'})
		return err
	})
	return n, err
}

func writeCSV(ctx context.Context, z *zip.Writer, s Snapshot, part string, cols []string, d string, r Range) error {
	f, err := z.Create(part + ".csv")
	if err != nil {
		return err
	}
	cw := csv.NewWriter(f)
	if err := cw.Write(cols); err != nil {
		return err
	}
	rec := make([]string, len(cols))
	err = s.Rows(ctx, part, d, r, func(row json.RawMessage) error {
		if err := csvRecord(row, cols, rec); err != nil {
			return fmt.Errorf("export: %s: %w", part, err)
		}
		return cw.Write(rec)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// csvRecord fills rec with row's fields in cols order: text as is (defused against spreadsheet
// formulas, observation.CSVSafe), numbers and booleans as JSON writes them, null as an empty
// cell, objects and arrays as their JSON. The CSV files are for people; import reads JSON Lines.
func csvRecord(row json.RawMessage, cols []string, rec []string) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(row, &obj); err != nil {
		return err
	}
	for i, c := range cols {
		v := obj[c]
		switch {
		case len(v) == 0 || string(v) == "null":
			rec[i] = ""
		case v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return err
			}
			rec[i] = observation.CSVSafe(s)
		default:
			rec[i] = string(v)
		}
	}
	return nil
}
