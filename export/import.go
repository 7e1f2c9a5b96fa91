package export

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/lookfor-edu/lookfor/observation"
)

// Target is a database being imported into, inside one transaction.
type Target interface {
	SchemaVersion(ctx context.Context) (int64, error)
	DistrictExists(ctx context.Context, districtID string) (bool, error)
	// Insert adds rows of part (JSON objects with the part's columns) that belong to districtID
	// (rubrics and their versions: or to the network, when the database does not hold them yet).
	Insert(ctx context.Context, part, districtID string, rows []json.RawMessage) error
	// Finish rebuilds the district's progress aggregates from its imported observations.
	Finish(ctx context.Context, districtID string) error
}

// Sink runs fn in one transaction: an import is whole or nothing.
type Sink interface {
	ImportTx(ctx context.Context, fn func(Target) error) error
}

// Archive is one zip of an export, by name (for messages).
type Archive struct {
	Name string
	Zip  *zip.Reader
}

// importBatch is how many rows go to the database in one statement.
const importBatch = 500

// maxLine is the longest JSON line accepted (a record's content is far smaller).
const maxLine = 64 << 20

// Import loads a district's export — its archives in the order they were written — into a
// database that does not hold the district, and rebuilds its progress aggregates. It returns
// the district and the rows imported by part.
func Import(ctx context.Context, sink Sink, archives []Archive) (string, []PartCount, error) {
	if len(archives) == 0 {
		return "", nil, observation.Invalid("archives", "REQUIRED", "name at least one export archive")
	}
	manifests, err := checkArchives(archives)
	if err != nil {
		return "", nil, err
	}
	d := manifests[0].DistrictID
	counts := make([]PartCount, len(Parts))
	for i, p := range Parts {
		counts[i].Name = p.Name
	}
	err = sink.ImportTx(ctx, func(t Target) error {
		v, err := t.SchemaVersion(ctx)
		if err != nil {
			return err
		}
		if v != manifests[0].SchemaVersion {
			return observation.Precondition("SCHEMA_MISMATCH",
				"the export was written at schema version %d and this database is at %d: migrate it to %d first (lookfor migrate up, or an older lookfor for an older export)",
				manifests[0].SchemaVersion, v, manifests[0].SchemaVersion)
		}
		exists, err := t.DistrictExists(ctx, d)
		if err != nil {
			return err
		}
		if exists {
			return observation.Precondition("DISTRICT_EXISTS", "district %s is already in this database: import into a database without it", d)
		}
		for _, a := range archives {
			for i, p := range Parts {
				n, err := importPart(ctx, t, a, p.Name, d)
				if err != nil {
					return err
				}
				counts[i].Rows += n
			}
		}
		return t.Finish(ctx, d)
	})
	return d, counts, err
}

// checkArchives reads every archive's manifest and checks that together they are one whole
// export, before anything is written.
func checkArchives(archives []Archive) ([]Manifest, error) {
	manifests := make([]Manifest, len(archives))
	for i, a := range archives {
		m, err := readManifest(a)
		if err != nil {
			return nil, err
		}
		manifests[i] = m
	}
	return manifests, checkSequence(archives, manifests)
}

func readManifest(a Archive) (Manifest, error) {
	var m Manifest
	f, err := a.Zip.Open(ManifestName)
	if err != nil {
		return m, observation.Invalid(a.Name, "NOT_AN_EXPORT", "%s has no %s: it is not a complete lookfor export archive", a.Name, ManifestName)
	}
	defer f.Close()
	if err := json.NewDecoder(io.LimitReader(f, 1<<20)).Decode(&m); err != nil {
		return m, observation.Invalid(a.Name+":"+ManifestName, "INVALID_JSON", "%s of %s is not a manifest: %v", ManifestName, a.Name, err)
	}
	if m.Format != Format || m.FormatVersion != FormatVersion {
		return m, observation.Invalid(a.Name+":"+ManifestName, "UNKNOWN_FORMAT",
			"%s is format %q version %d; this lookfor reads %q version %d", a.Name, m.Format, m.FormatVersion, Format, FormatVersion)
	}
	if err := observation.ValidateID("district_id", m.DistrictID); err != nil {
		return m, err
	}
	return m, nil
}

// checkSequence makes sure the archives are one whole export: the first starts at the
// beginning, each continues where the one before stopped, and the last is complete.
func checkSequence(archives []Archive, ms []Manifest) error {
	for i, m := range ms {
		name := archives[i].Name
		switch {
		case m.DistrictID != ms[0].DistrictID:
			return observation.Invalid(name, "MIXED_DISTRICTS", "%s is an export of district %s, %s of %s", name, m.DistrictID, archives[0].Name, ms[0].DistrictID)
		case m.SchemaVersion != ms[0].SchemaVersion:
			return observation.Invalid(name, "MIXED_SCHEMAS", "%s was written at schema version %d, %s at %d", name, m.SchemaVersion, archives[0].Name, ms[0].SchemaVersion)
		case i == 0 && m.After != "":
			return observation.Invalid(name, "NOT_FIRST", "%s continues an export after %s: name the export's first archive first", name, m.After)
		case i > 0 && m.After != ms[i-1].NextAfter:
			return observation.Invalid(name, "OUT_OF_ORDER", "%s continues after %s, but %s stopped at %s", name, m.After, archives[i-1].Name, ms[i-1].NextAfter)
		case i > 0 && ms[i-1].Complete:
			return observation.Invalid(name, "AFTER_COMPLETE", "%s is complete: nothing may follow it, yet %s does", archives[i-1].Name, name)
		}
	}
	if last := ms[len(ms)-1]; !last.Complete {
		return observation.Invalid(archives[len(ms)-1].Name, "INCOMPLETE",
			"the export continues after %s: fetch the next archive (after=%s) and name it too", last.Through, last.NextAfter)
	}
	return nil
}

// importPart inserts the rows of one part of a; a part an archive does not hold is skipped.
func importPart(ctx context.Context, t Target, a Archive, part, d string) (int64, error) {
	name := part + ".jsonl"
	f, err := a.Zip.Open(name)
	if errors.Is(err, zip.ErrFormat) || errors.Is(err, zip.ErrChecksum) {
		return 0, observation.Invalid(a.Name+":"+name, "CORRUPT", "%s in %s is damaged", name, a.Name)
	}
	if err != nil {
		return 0, nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var (
		batch []json.RawMessage
		n     int64
		line  int
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := t.Insert(ctx, part, d, batch); err != nil {
			return fmt.Errorf("%s:%s (lines up to %d): %w", a.Name, name, line, err)
		}
		n += int64(len(batch))
		batch = batch[:0]
		return nil
	}
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 || b[0] != '{' || !json.Valid(b) {
			return n, observation.Invalid(fmt.Sprintf("%s:%s:%d", a.Name, name, line), "INVALID_JSON", "line %d of %s is not a JSON object", line, name)
		}
		batch = append(batch, append(json.RawMessage(nil), b...))
		if len(batch) == importBatch {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return n, observation.Invalid(a.Name+":"+name, "CORRUPT", "reading %s of %s: %v", name, a.Name, err)
	}
	return n, flush()
}
