package roster

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/lookfor-edu/lookfor/observation"
)

// Problems and warnings of an import, each by file and line: collecting them, the checks of
// single values that report them, and where a problem found later, against the stored roster,
// points.

// oneRosterParser maps an export, collecting problems and warnings.
type oneRosterParser struct {
	out      mappedRoster
	problems []ImportIssue
	more     int // problems beyond maxOneRosterProblems
	warned   map[string]int
}

func (p *oneRosterParser) fail(file string, line int, reason, format string, args ...any) {
	if len(p.problems) >= maxOneRosterProblems {
		p.more++
		return
	}
	p.problems = append(p.problems, ImportIssue{File: file, Line: line, Reason: reason, Message: fmt.Sprintf(format, args...)})
}

func (p *oneRosterParser) issue(i *ImportIssue) {
	if len(p.problems) >= maxOneRosterProblems {
		p.more++
		return
	}
	p.problems = append(p.problems, *i)
}

// warn records a warning once per key: the first line it concerns, and how many lines it concerns.
func (p *oneRosterParser) warn(file string, line int, key, msg string) {
	if p.warned == nil {
		p.warned = map[string]int{}
	}
	if i, ok := p.warned[key]; ok {
		p.out.Warnings[i].Count++
		return
	}
	p.warned[key] = len(p.out.Warnings)
	p.out.Warnings = append(p.out.Warnings, ImportIssue{File: file, Line: line, Message: msg, Count: 1})
}

// id checks a sourcedId used as a lookfor id.
func (p *oneRosterParser) id(r row, col, what string) (string, bool) {
	v := r.get(col)
	if v == "" {
		p.fail(r.t.file, r.line, observation.ReasonRequired, "%s is empty", col)
		return "", false
	}
	if err := observation.ValidateID(col, v); err != nil {
		p.fail(r.t.file, r.line, observation.ReasonBadID, "%s %s cannot be a lookfor %s id: it must be 1 to 128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit", col, observation.Clip(v), what)
		return "", false
	}
	return v, true
}

// status checks the status column; deleted reports rows to skip.
func (p *oneRosterParser) status(r row) (deleted, ok bool) {
	s := strings.ToLower(r.get("status"))
	if !slices.Contains(oneRosterStatuses, s) {
		p.fail(r.t.file, r.line, reasonBadOneRoster, "status %s is not a OneRoster status (active or tobedeleted)", observation.Clip(r.get("status")))
		return false, false
	}
	if s == "tobedeleted" || s == "inactive" {
		p.out.Skipped.Deleted++
		p.warn(r.t.file, r.line, r.t.file+"/deleted", "rows with status "+s+" are skipped: an import never deletes roster rows")
		return true, true
	}
	return false, true
}

// text checks a free-text value for storage.
func (p *oneRosterParser) text(r row, col, v string, max int) (string, bool) {
	if err := observation.CheckText(col, v, max); err != nil {
		p.fail(r.t.file, r.line, err.Reason, "%s: %s", col, err.Message)
		return "", false
	}
	return v, true
}

// each reads every record of a file, stopping at a malformed line.
func (p *oneRosterParser) each(t *csvTable, fn func(row)) {
	for {
		r, err := t.next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			p.issue(csvIssue(t.file, err))
			return
		}
		fn(r)
	}
}

// error is the import's problems as one invalid-argument error naming the first problem's file.
func (p *oneRosterParser) error() *observation.Error {
	first := p.problems[0]
	var b strings.Builder
	b.WriteString(first.String())
	if n := len(p.problems) - 1 + p.more; n > 0 {
		fmt.Fprintf(&b, " (and %d more: ", n)
		for i, pr := range p.problems[1:] {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(pr.String())
		}
		if p.more > 0 {
			fmt.Fprintf(&b, "; %d more not listed", p.more)
		}
		b.WriteString(")")
	}
	reason := first.Reason
	if reason == "" {
		reason = reasonBadOneRoster
	}
	return &observation.Error{Kind: observation.KindInvalid, Field: fileField(first.File), Reason: reason, Message: b.String()}
}

// roleName reads and checks a role column (lower case); ok is false after a problem.
func (p *oneRosterParser) roleName(r row, col string) (string, bool) {
	v := r.get(col)
	if v == "" {
		p.fail(r.t.file, r.line, observation.ReasonRequired, "%s is empty", col)
		return "", false
	}
	role := strings.ToLower(v)
	if !knownRole(role) {
		p.fail(r.t.file, r.line, reasonBadOneRoster, "%s %s is not a OneRoster role", col, strconv.Quote(v))
		return "", false
	}
	return role, true
}

// locator names file and line of a row of the batch.
func (o *mappedRoster) locator(kind string, i int, field string) (string, string) {
	switch kind {
	case "sites":
		return "orgs_csv", fmt.Sprintf("%s:%d: ", orgsCSV, at(o.siteLines, i))
	case "classrooms":
		if field == "teacher_id" && at(o.teacherLines, i) > 0 {
			return "enrollments_csv", fmt.Sprintf("%s:%d: ", enrollmentsCSV, at(o.teacherLines, i))
		}
		return "classes_csv", fmt.Sprintf("%s:%d: ", classesCSV, at(o.classLines, i))
	case "staff":
		if j, ok := strings.CutPrefix(field, "site_ids["); ok && i < len(o.staffOrgs) {
			n, _ := strconv.Atoi(strings.TrimSuffix(j, "]"))
			if n < len(o.staffOrgs[i]) && o.staffOrgs[i][n].file != "" {
				r := o.staffOrgs[i][n]
				return fileField(r.file), fmt.Sprintf("%s:%d: ", r.file, r.line)
			}
		}
		return "users_csv", fmt.Sprintf("%s:%d: ", usersCSV, at(o.staffLines, i))
	}
	return kind, ""
}

func at(lines []int, i int) int {
	if i >= 0 && i < len(lines) {
		return lines[i]
	}
	return 0
}

// fileField is the request field that carries a file: "users.csv" → "users_csv".
func fileField(file string) string { return strings.ReplaceAll(file, ".", "_") }
