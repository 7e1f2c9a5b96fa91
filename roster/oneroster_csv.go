package roster

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/lookfor-edu/lookfor/observation"
)

// Reading an export: the files lookfor uses from a zip archive, and each CSV file by its
// header's column names.

// readOneRosterZip reads the files lookfor uses from a OneRoster zip archive, wherever they sit
// in it. Other files are not opened.
func readOneRosterZip(data []byte) (OneRosterFiles, error) {
	var f OneRosterFiles
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return f, observation.Invalid("zip", reasonBadZip, "not a readable zip archive")
	}
	targets := map[string]*string{
		orgsCSV: &f.Orgs, usersCSV: &f.Users, rolesCSV: &f.Roles,
		classesCSV: &f.Classes, enrollmentsCSV: &f.Enrollments,
	}
	found := map[string]string{}
	for _, zf := range zr.File {
		name := strings.ReplaceAll(zf.Name, `\`, "/")
		if zf.FileInfo().IsDir() || strings.HasPrefix(name, "__MACOSX/") || strings.HasPrefix(path.Base(name), "._") {
			continue
		}
		base := strings.ToLower(path.Base(name))
		dst, ok := targets[base]
		if !ok {
			continue
		}
		canonical := base // the target names are lower case
		if prev, dup := found[canonical]; dup {
			return f, observation.Invalid("zip", reasonDuplicateID, "the archive holds %s twice (%s and %s)", canonical, observation.Clip(prev), observation.Clip(zf.Name))
		}
		found[canonical] = zf.Name
		if zf.UncompressedSize64 > maxOneRosterFileBytes {
			return f, observation.Invalid("zip", reasonFileTooLarge, "%s is %d bytes uncompressed; at most %d are accepted", canonical, zf.UncompressedSize64, maxOneRosterFileBytes)
		}
		rc, err := zf.Open()
		if err != nil {
			return f, observation.Invalid("zip", reasonBadZip, "cannot open %s in the archive: it is damaged or compressed in a way lookfor cannot read", canonical)
		}
		b, err := io.ReadAll(io.LimitReader(rc, maxOneRosterFileBytes+1))
		rc.Close()
		if err != nil {
			return f, observation.Invalid("zip", reasonBadZip, "cannot read %s in the archive: it is damaged", canonical)
		}
		if len(b) > maxOneRosterFileBytes {
			return f, observation.Invalid("zip", reasonFileTooLarge, "%s is over %d bytes uncompressed", canonical, maxOneRosterFileBytes)
		}
		*dst = string(b)
	}
	if len(found) == 0 {
		return f, observation.Invalid("zip", observation.ReasonRequired, "the archive holds none of %s, %s, %s, %s", orgsCSV, usersCSV, classesCSV, enrollmentsCSV)
	}
	return f, nil
}

// csvTable reads one CSV file by its header's column names.
type csvTable struct {
	file string
	r    *csv.Reader
	cols map[string]int // lower-case column name → index
}

func openCSV(file, data string) (*csvTable, *ImportIssue) {
	data = strings.TrimPrefix(data, "\ufeff")
	r := csv.NewReader(strings.NewReader(data))
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &ImportIssue{File: file, Line: 1, Reason: reasonBadCSV, Message: "the file has no header line"}
		}
		return nil, csvIssue(file, err)
	}
	t := &csvTable{file: file, r: r, cols: make(map[string]int, len(header))}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		if _, dup := t.cols[h]; dup {
			return nil, &ImportIssue{File: file, Line: 1, Reason: reasonBadCSV, Message: fmt.Sprintf("column %s appears twice in the header", observation.Clip(header[i]))}
		}
		t.cols[h] = i
	}
	return t, nil
}

// csvIssue says, in lookfor's words, what encoding/csv found wrong with a file.
func csvIssue(file string, err error) *ImportIssue {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return &ImportIssue{File: file, Reason: reasonBadCSV, Message: "the file cannot be read as CSV"}
	}
	msg := "the line is not valid CSV"
	switch {
	case errors.Is(pe.Err, csv.ErrFieldCount):
		msg = "the line has a different number of fields than the header"
	case errors.Is(pe.Err, csv.ErrBareQuote):
		msg = fmt.Sprintf(`a field holds a quote (") at column %d but is not itself in quotes`, pe.Column)
	case errors.Is(pe.Err, csv.ErrQuote):
		msg = fmt.Sprintf("a quoted field is not closed properly (column %d)", pe.Column)
	}
	return &ImportIssue{File: file, Line: pe.StartLine, Reason: reasonBadCSV, Message: msg}
}

// require reports the first of cols the header lacks.
func (t *csvTable) require(cols ...string) *ImportIssue {
	for _, c := range cols {
		if _, ok := t.cols[strings.ToLower(c)]; !ok {
			return &ImportIssue{File: t.file, Line: 1, Reason: reasonMissingCol, Message: fmt.Sprintf("the header has no %s column", c)}
		}
	}
	return nil
}

func (t *csvTable) has(col string) bool {
	_, ok := t.cols[strings.ToLower(col)]
	return ok
}

// row is one record and its line.
type row struct {
	t    *csvTable
	rec  []string
	line int
}

// next returns the next record; io.EOF at the end.
func (t *csvTable) next() (row, error) {
	rec, err := t.r.Read()
	if err != nil {
		return row{}, err
	}
	line, _ := t.r.FieldPos(0)
	return row{t: t, rec: rec, line: line}, nil
}

// get returns a column's trimmed value; "" when the file has no such column.
func (r row) get(col string) string {
	i, ok := r.t.cols[strings.ToLower(col)]
	if !ok || i >= len(r.rec) {
		return ""
	}
	return strings.TrimSpace(r.rec[i])
}

// list splits a comma-separated list column.
func (r row) list(col string) []string {
	var out []string
	for _, s := range strings.Split(r.get(col), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
