package roster

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/lookfor-edu/lookfor/observation"
)

// OneRoster 1.2 CSV file names lookfor reads. Every other file of an export (academicSessions,
// courses, demographics, ...) is never opened: lookfor stores no students.
const (
	OneRosterOrgs        = "orgs.csv"
	OneRosterUsers       = "users.csv"
	OneRosterRoles       = "roles.csv"
	OneRosterClasses     = "classes.csv"
	OneRosterEnrollments = "enrollments.csv"
)

// Import limits.
const (
	MaxOneRosterFileBytes = 64 << 20 // uncompressed bytes of one CSV file in a zip
	MaxOneRosterProblems  = 20       // problems listed in one error
)

// Reason codes of OneRoster imports.
const (
	ReasonBadZip       = "BAD_ZIP"        // the zip archive cannot be read
	ReasonBadCSV       = "BAD_CSV"        // a file is not well-formed CSV
	ReasonMissingCol   = "MISSING_COLUMN" // a file lacks a column lookfor needs
	ReasonBadOneRoster = "BAD_ONEROSTER"  // a value is not what the OneRoster binding allows
	ReasonUnknownRef   = "UNKNOWN_REFERENCE"
	ReasonFileTooLarge = "FILE_TOO_LARGE"
)

// OneRosterFiles are the CSV files of a OneRoster export that lookfor reads, as text. Any may be
// empty. users.csv carries a role column (OneRoster 1.1, and many 1.2 exports); a OneRoster 1.2
// export that gives roles in roles.csv needs roles.csv too.
type OneRosterFiles struct {
	Orgs, Users, Roles, Classes, Enrollments string
}

func (f OneRosterFiles) empty() bool {
	return f.Orgs == "" && f.Users == "" && f.Roles == "" && f.Classes == "" && f.Enrollments == ""
}

// OneRosterOptions tune the mapping.
type OneRosterOptions struct {
	// Subjects, when set, keeps only classes whose subjects column (or, when it is empty, title)
	// contains one of these, ignoring case ("math" keeps "Mathematics" and "Math 7").
	Subjects []string
}

// ImportIssue is a problem or warning about one line of an imported file (line 0: the file).
type ImportIssue struct {
	File    string
	Line    int
	Reason  string
	Message string
	Count   int // warnings: how many lines this warning concerns (Line is the first)
}

func (i ImportIssue) String() string {
	msg := i.Message
	if i.Count > 1 {
		msg += fmt.Sprintf(" (%d lines like this)", i.Count)
	}
	if i.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", i.File, i.Line, msg)
	}
	if i.File != "" {
		return i.File + ": " + msg
	}
	return msg
}

// ImportSkipped counts rows an import read and deliberately did not apply.
type ImportSkipped struct {
	Students           int `json:"students"`            // student users: never stored
	StudentEnrollments int `json:"student_enrollments"` // student enrollments: never stored
	OtherUsers         int `json:"other_users"`         // parents, guardians, aides, ... and users without a role
	OtherOrgs          int `json:"other_orgs"`          // orgs that are not schools
	OtherEnrollments   int `json:"other_enrollments"`   // non-teacher enrollments of adults
	FilteredClasses    int `json:"filtered_classes"`    // classes left out by OneRosterOptions.Subjects
	Deleted            int `json:"deleted"`             // rows with status tobedeleted: imports never delete
}

// OneRosterRoster is what a OneRoster export maps to: a roster batch, and where each row came from
// so that problems found against the stored roster can name the file and line.
type OneRosterRoster struct {
	Batch    Batch
	Warnings []ImportIssue
	Skipped  ImportSkipped

	siteLines    []int // orgs.csv line of each site
	classLines   []int // classes.csv line of each classroom
	teacherLines []int // enrollments.csv line of each classroom's teacher (0: none)
	staffLines   []int // users.csv line of each staff member
	staffOrgs    [][]orgRef
}

// orgRef is a site assignment and the file and line that made it.
type orgRef struct {
	file string
	line int
}

// locator names file and line of a row of the batch.
func (o *OneRosterRoster) locator(kind string, i int, field string) (string, string) {
	switch kind {
	case "sites":
		return "orgs_csv", fmt.Sprintf("%s:%d: ", OneRosterOrgs, at(o.siteLines, i))
	case "classrooms":
		if field == "teacher_id" && at(o.teacherLines, i) > 0 {
			return "enrollments_csv", fmt.Sprintf("%s:%d: ", OneRosterEnrollments, at(o.teacherLines, i))
		}
		return "classes_csv", fmt.Sprintf("%s:%d: ", OneRosterClasses, at(o.classLines, i))
	case "staff":
		if j, ok := strings.CutPrefix(field, "site_ids["); ok && i < len(o.staffOrgs) {
			n, _ := strconv.Atoi(strings.TrimSuffix(j, "]"))
			if n < len(o.staffOrgs[i]) && o.staffOrgs[i][n].file != "" {
				r := o.staffOrgs[i][n]
				return fileField(r.file), fmt.Sprintf("%s:%d: ", r.file, r.line)
			}
		}
		return "users_csv", fmt.Sprintf("%s:%d: ", OneRosterUsers, at(o.staffLines, i))
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

// OneRoster roles (user roles of 1.1 and 1.2 and enrollment roles) and what lookfor does with them.
var (
	oneRosterTeacher   = []string{"teacher"}
	oneRosterPrincipal = []string{"administrator", "principal", "siteadministrator"}
	oneRosterDistrict  = []string{"districtadministrator"}
	oneRosterStudent   = []string{"student"}
	oneRosterFamily    = []string{"parent", "guardian", "relative"}
	oneRosterIgnored   = []string{"aide", "proctor", "counselor", "systemadministrator"}
	oneRosterOrgTypes  = []string{"department", "school", "district", "local", "state", "national"}
	oneRosterStatuses  = []string{"", "active", "tobedeleted", "inactive"}
)

// staffRoleOf maps a OneRoster role (lower case) to a roster role; ok is false for roles lookfor
// does not roster.
func staffRoleOf(role string) (StaffRole, bool) {
	switch {
	case slices.Contains(oneRosterTeacher, role):
		return StaffTeacher, true
	case slices.Contains(oneRosterPrincipal, role):
		return StaffPrincipal, true
	case slices.Contains(oneRosterDistrict, role):
		return StaffDistrictAdmin, true
	}
	return "", false
}

func knownRole(role string) bool {
	_, staff := staffRoleOf(role)
	return staff || slices.Contains(oneRosterStudent, role) || slices.Contains(oneRosterFamily, role) ||
		slices.Contains(oneRosterIgnored, role) || strings.HasPrefix(role, "ext:")
}

// rolePriority orders roster roles when a user holds several: the broadest wins.
var rolePriority = map[StaffRole]int{StaffTeacher: 1, StaffPrincipal: 2, StaffDistrictAdmin: 3}

// ReadOneRosterZip reads the files lookfor uses from a OneRoster zip archive, wherever they sit
// in it. Other files are not opened.
func ReadOneRosterZip(data []byte) (OneRosterFiles, error) {
	var f OneRosterFiles
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return f, observation.Invalid("zip", ReasonBadZip, "not a readable zip archive: %v", err)
	}
	targets := map[string]*string{
		OneRosterOrgs: &f.Orgs, OneRosterUsers: &f.Users, OneRosterRoles: &f.Roles,
		OneRosterClasses: &f.Classes, OneRosterEnrollments: &f.Enrollments,
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
			return f, observation.Invalid("zip", ReasonDuplicateID, "the archive holds %s twice (%s and %s)", canonical, observation.Clip(prev), observation.Clip(zf.Name))
		}
		found[canonical] = zf.Name
		if zf.UncompressedSize64 > MaxOneRosterFileBytes {
			return f, observation.Invalid("zip", ReasonFileTooLarge, "%s is %d bytes uncompressed; at most %d are accepted", canonical, zf.UncompressedSize64, MaxOneRosterFileBytes)
		}
		rc, err := zf.Open()
		if err != nil {
			return f, observation.Invalid("zip", ReasonBadZip, "cannot open %s in the archive: %v", canonical, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, MaxOneRosterFileBytes+1))
		rc.Close()
		if err != nil {
			return f, observation.Invalid("zip", ReasonBadZip, "cannot read %s in the archive: %v", canonical, err)
		}
		if len(b) > MaxOneRosterFileBytes {
			return f, observation.Invalid("zip", ReasonFileTooLarge, "%s is over %d bytes uncompressed", canonical, MaxOneRosterFileBytes)
		}
		*dst = string(b)
	}
	if len(found) == 0 {
		return f, observation.Invalid("zip", observation.ReasonRequired, "the archive holds none of %s, %s, %s, %s", OneRosterOrgs, OneRosterUsers, OneRosterClasses, OneRosterEnrollments)
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
			return nil, &ImportIssue{File: file, Line: 1, Reason: ReasonBadCSV, Message: "the file has no header line"}
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
			return nil, &ImportIssue{File: file, Line: 1, Reason: ReasonBadCSV, Message: fmt.Sprintf("column %s appears twice in the header", observation.Clip(header[i]))}
		}
		t.cols[h] = i
	}
	return t, nil
}

func csvIssue(file string, err error) *ImportIssue {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ImportIssue{File: file, Line: pe.StartLine, Reason: ReasonBadCSV, Message: pe.Err.Error()}
	}
	return &ImportIssue{File: file, Reason: ReasonBadCSV, Message: err.Error()}
}

// require reports the first of cols the header lacks.
func (t *csvTable) require(cols ...string) *ImportIssue {
	for _, c := range cols {
		if _, ok := t.cols[strings.ToLower(c)]; !ok {
			return &ImportIssue{File: t.file, Line: 1, Reason: ReasonMissingCol, Message: fmt.Sprintf("the header has no %s column", c)}
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

// oneRosterParser maps an export, collecting problems and warnings.
type oneRosterParser struct {
	out      OneRosterRoster
	problems []ImportIssue
	more     int // problems beyond MaxOneRosterProblems
	warned   map[string]int
}

func (p *oneRosterParser) fail(file string, line int, reason, format string, args ...any) {
	if len(p.problems) >= MaxOneRosterProblems {
		p.more++
		return
	}
	p.problems = append(p.problems, ImportIssue{File: file, Line: line, Reason: reason, Message: fmt.Sprintf(format, args...)})
}

func (p *oneRosterParser) issue(i *ImportIssue) {
	if len(p.problems) >= MaxOneRosterProblems {
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
		p.fail(r.t.file, r.line, ReasonBadOneRoster, "status %s is not a OneRoster status (active or tobedeleted)", observation.Clip(r.get("status")))
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

// userRole is a role a user holds, with where it was stated.
type userRole struct {
	role    StaffRole
	primary bool
	orgs    []string
	file    string
	line    int
}

// adult is a users.csv user lookfor rosters, or one it deliberately skipped.
type adult struct {
	index   int // into out.Batch.Staff; -1 when skipped
	skipped string
}

// ParseOneRoster maps OneRoster CSV files to a roster batch: orgs of type school become sites;
// users who are teachers, principals (administrator, principal, siteAdministrator) or district
// administrators become staff; classes become classrooms (title → course, grades → grade,
// classCode or periods → section, schoolSourcedId → site); teacher enrollments set each
// classroom's teacher (primary first). Students, their enrollments and every other file are never
// stored. Any problem fails the whole import: the error lists the files and lines.
func ParseOneRoster(files OneRosterFiles, opts OneRosterOptions) (OneRosterRoster, error) {
	if files.empty() {
		return OneRosterRoster{}, observation.Invalid("orgs_csv", observation.ReasonRequired, "no files were given: send a zip or at least one of %s, %s, %s, %s",
			OneRosterOrgs, OneRosterUsers, OneRosterClasses, OneRosterEnrollments)
	}
	p := &oneRosterParser{}
	schools := map[string]int{} // school sourcedId → line
	otherOrgs := map[string]string{}
	if files.Orgs != "" {
		p.orgs(files.Orgs, schools, otherOrgs)
	}
	roles := map[string][]userRole{}
	if files.Roles != "" {
		p.roles(files.Roles, roles)
	}
	adults := map[string]adult{}
	if files.Users != "" {
		p.users(files.Users, files.Roles != "", roles, schools, otherOrgs, adults)
	} else if files.Roles != "" {
		p.fail(OneRosterRoles, 0, observation.ReasonRequired, "roles.csv needs users.csv for the users' names")
	}
	classIndex := map[string]int{}
	filtered := map[string]bool{}
	if files.Classes != "" {
		p.classes(files.Classes, opts, schools, otherOrgs, classIndex, filtered)
	}
	if files.Enrollments != "" {
		if files.Classes == "" {
			p.fail(OneRosterEnrollments, 0, observation.ReasonRequired, "enrollments.csv needs classes.csv: teachers are set on the classes it lists")
		} else {
			p.enrollments(files.Enrollments, classIndex, filtered, adults)
		}
	}
	if len(p.problems) > 0 {
		return OneRosterRoster{}, p.error()
	}
	p.finish(schools)
	return p.out, nil
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
		reason = ReasonBadOneRoster
	}
	return &observation.Error{Kind: observation.KindInvalid, Field: fileField(first.File), Reason: reason, Message: b.String()}
}

func (p *oneRosterParser) orgs(data string, schools map[string]int, other map[string]string) {
	t, iss := openCSV(OneRosterOrgs, data)
	if iss == nil {
		iss = t.require("sourcedId", "name", "type")
	}
	if iss != nil {
		p.issue(iss)
		return
	}
	p.each(t, func(r row) {
		deleted, ok := p.status(r)
		if !ok || deleted {
			return
		}
		typ := r.get("type")
		lt := strings.ToLower(typ)
		if !slices.Contains(oneRosterOrgTypes, lt) && !strings.HasPrefix(lt, "ext:") {
			p.fail(r.t.file, r.line, ReasonBadOneRoster, "type %s is not a OneRoster org type (%s)", observation.Clip(typ), strings.Join(oneRosterOrgTypes, ", "))
			return
		}
		id := r.get("sourcedId")
		if lt != "school" {
			p.out.Skipped.OtherOrgs++
			if id != "" {
				other[id] = lt
			}
			return
		}
		id, ok = p.id(r, "sourcedId", "site")
		if !ok {
			return
		}
		if first, dup := schools[id]; dup {
			p.fail(r.t.file, r.line, ReasonDuplicateID, "school %q is listed twice (first at line %d)", id, first)
			return
		}
		name := r.get("name")
		if name == "" {
			p.fail(r.t.file, r.line, observation.ReasonRequired, "school %q has no name", id)
			return
		}
		if name, ok = p.text(r, "name", name, MaxNameLength); !ok {
			return
		}
		schools[id] = r.line
		p.out.Batch.Sites = append(p.out.Batch.Sites, observation.Site{ID: id, Name: name})
		p.out.siteLines = append(p.out.siteLines, r.line)
	})
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
		p.fail(r.t.file, r.line, ReasonBadOneRoster, "%s %s is not a OneRoster role", col, strconv.Quote(v))
		return "", false
	}
	return role, true
}

// roles reads OneRoster 1.2 roles.csv: one line per user, role and org.
func (p *oneRosterParser) roles(data string, roles map[string][]userRole) {
	t, iss := openCSV(OneRosterRoles, data)
	if iss == nil {
		iss = t.require("userSourcedId", "role")
	}
	if iss != nil {
		p.issue(iss)
		return
	}
	p.each(t, func(r row) {
		deleted, ok := p.status(r)
		if !ok || deleted {
			return
		}
		role, ok := p.roleName(r, "role")
		if !ok {
			return
		}
		user := r.get("userSourcedId")
		if user == "" {
			p.fail(r.t.file, r.line, observation.ReasonRequired, "userSourcedId is empty")
			return
		}
		ur := userRole{file: r.t.file, line: r.line, primary: strings.EqualFold(r.get("roleType"), "primary")}
		if sr, staff := staffRoleOf(role); staff {
			ur.role = sr
		} else {
			ur.role = StaffRole("oneroster:" + role) // not rostered; kept to tell students apart
		}
		if org := r.get("orgSourcedId"); org != "" {
			ur.orgs = []string{org}
		}
		roles[user] = append(roles[user], ur)
	})
}

func (p *oneRosterParser) users(data string, haveRoles bool, roles map[string][]userRole, schools map[string]int, otherOrgs map[string]string, adults map[string]adult) {
	t, iss := openCSV(OneRosterUsers, data)
	if iss == nil {
		iss = t.require("sourcedId")
	}
	if iss == nil && !t.has("role") && !haveRoles {
		iss = &ImportIssue{File: OneRosterUsers, Line: 1, Reason: ReasonMissingCol,
			Message: "the header has no role column: a OneRoster 1.2 export that gives roles in roles.csv needs roles.csv too"}
	}
	if iss != nil {
		p.issue(iss)
		return
	}
	lines := map[string]int{}
	p.each(t, func(r row) {
		var held []userRole
		if t.has("role") && r.get("role") != "" {
			role, ok := p.roleName(r, "role")
			if !ok {
				return
			}
			ur := userRole{primary: true, orgs: r.list("orgSourcedIds"), file: r.t.file, line: r.line}
			if sr, staff := staffRoleOf(role); staff {
				ur.role = sr
			} else {
				ur.role = StaffRole("oneroster:" + role)
			}
			held = append(held, ur)
		}
		user := r.get("sourcedId")
		held = append(held, roles[user]...)
		if len(held) == 0 {
			if !haveRoles && t.has("role") {
				p.fail(r.t.file, r.line, observation.ReasonRequired, "role is empty")
				return
			}
			p.out.Skipped.OtherUsers++
			p.warn(r.t.file, r.line, "users/norole", "users without a role are skipped")
			return
		}
		// Students are skipped before anything else about them is read or checked.
		staffRole, other := pickRole(held)
		if staffRole == "" {
			switch {
			case other == "student":
				p.out.Skipped.Students++
			case slices.Contains(oneRosterFamily, other):
				p.out.Skipped.OtherUsers++
			default:
				p.out.Skipped.OtherUsers++
				p.warn(r.t.file, r.line, "users/role/"+other, fmt.Sprintf("users with role %q are not rostered in lookfor and are skipped", other))
			}
			if user != "" {
				adults[user] = adult{index: -1, skipped: other}
			}
			return
		}
		deleted, ok := p.status(r)
		if !ok || deleted {
			if deleted && user != "" {
				adults[user] = adult{index: -1, skipped: "user with status " + strings.ToLower(r.get("status"))}
			}
			return
		}
		id, ok := p.id(r, "sourcedId", "staff")
		if !ok {
			return
		}
		if first, dup := lines[id]; dup {
			p.fail(r.t.file, r.line, ReasonDuplicateID, "user %q is listed twice (first at line %d)", id, first)
			return
		}
		lines[id] = r.line
		s := Staff{ID: id, Role: staffRole}
		if s.GivenName, ok = p.text(r, "givenName", r.get("givenName"), MaxNameLength); !ok {
			return
		}
		if s.FamilyName, ok = p.text(r, "familyName", r.get("familyName"), MaxNameLength); !ok {
			return
		}
		s.Email = r.get("email")
		if err := checkEmail(s.Email); err != nil {
			p.fail(r.t.file, r.line, err.Reason, "email: %s", err.Message)
			return
		}
		var refs []orgRef
		addOrg := func(org string, file string, line int) bool {
			if _, other := otherOrgs[org]; other || slices.Contains(s.SiteIDs, org) {
				return true // the district or another non-school org: no site assignment
			}
			if err := observation.ValidateID("orgSourcedIds", org); err != nil {
				p.fail(file, line, observation.ReasonBadID, "org %s cannot be a lookfor site id", observation.Clip(org))
				return false
			}
			s.SiteIDs = append(s.SiteIDs, org)
			refs = append(refs, orgRef{file: file, line: line})
			return true
		}
		for _, ur := range held {
			if ur.role != staffRole {
				continue
			}
			for _, org := range ur.orgs {
				if !addOrg(org, ur.file, ur.line) {
					return
				}
			}
		}
		if org := r.get("primaryOrgSourcedId"); org != "" && staffRole != StaffDistrictAdmin {
			if !addOrg(org, r.t.file, r.line) {
				return
			}
		}
		if staffRole == StaffDistrictAdmin {
			s.SiteIDs, refs = nil, nil
		}
		adults[id] = adult{index: len(p.out.Batch.Staff)}
		p.out.Batch.Staff = append(p.out.Batch.Staff, s)
		p.out.staffLines = append(p.out.staffLines, r.line)
		p.out.staffOrgs = append(p.out.staffOrgs, refs)
	})
}

// pickRole chooses the roster role of a user holding several OneRoster roles: a primary rostered
// role first, else the broadest; other is the first role lookfor does not roster, for users who
// hold none it does.
func pickRole(held []userRole) (role StaffRole, other string) {
	primary := false
	for _, ur := range held {
		if strings.HasPrefix(string(ur.role), "oneroster:") {
			if other == "" {
				other = strings.TrimPrefix(string(ur.role), "oneroster:")
			}
			continue
		}
		if role == "" || (ur.primary && !primary) || (ur.primary == primary && rolePriority[ur.role] > rolePriority[role]) {
			role, primary = ur.role, ur.primary
		}
	}
	return role, other
}

// normalizeGrade maps a OneRoster (CEDS) grade code to lookfor's: KG → K, 01 → 1, PK and TK as
// they are; ok is false for codes lookfor has no grade for (IT, PR, PS, UG, 13, Other).
func normalizeGrade(g string) (string, bool) {
	switch u := strings.ToUpper(strings.TrimSpace(g)); u {
	case "KG", "K":
		return "K", true
	case "PK", "TK":
		return u, true
	default:
		n, err := strconv.Atoi(u)
		if err == nil && n >= 1 && n <= 12 && len(u) <= 2 {
			return strconv.Itoa(n), true
		}
	}
	return "", false
}

func (p *oneRosterParser) classes(data string, opts OneRosterOptions, schools map[string]int, otherOrgs map[string]string, index map[string]int, filtered map[string]bool) {
	t, iss := openCSV(OneRosterClasses, data)
	if iss == nil {
		iss = t.require("sourcedId", "title", "schoolSourcedId")
	}
	if iss != nil {
		p.issue(iss)
		return
	}
	lines := map[string]int{}
	p.each(t, func(r row) {
		deleted, ok := p.status(r)
		if !ok {
			return
		}
		if deleted {
			filtered[r.get("sourcedId")] = true
			return
		}
		if len(opts.Subjects) > 0 && !matchesSubject(r, opts.Subjects) {
			p.out.Skipped.FilteredClasses++
			filtered[r.get("sourcedId")] = true
			return
		}
		// A class with a problem is reported once, not again by each of its enrollments.
		filtered[r.get("sourcedId")] = true
		defer func() {
			if _, ok := index[r.get("sourcedId")]; ok {
				delete(filtered, r.get("sourcedId"))
			}
		}()
		id, ok := p.id(r, "sourcedId", "classroom")
		if !ok {
			return
		}
		if first, dup := lines[id]; dup {
			p.fail(r.t.file, r.line, ReasonDuplicateID, "class %q is listed twice (first at line %d)", id, first)
			return
		}
		lines[id] = r.line
		c := observation.Classroom{ID: id}
		if c.Course = r.get("title"); c.Course == "" {
			p.fail(r.t.file, r.line, observation.ReasonRequired, "class %q has no title", id)
			return
		}
		if c.Course, ok = p.text(r, "title", c.Course, MaxNameLength); !ok {
			return
		}
		var grades []string
		for _, g := range r.list("grades") {
			n, known := normalizeGrade(g)
			if !known {
				p.warn(r.t.file, r.line, "classes/grade/"+strings.ToUpper(g), fmt.Sprintf("grade %s has no lookfor grade and is left out", observation.Clip(g)))
				continue
			}
			if !slices.Contains(grades, n) {
				grades = append(grades, n)
			}
		}
		slices.SortFunc(grades, func(a, b string) int { return gradeRank(a) - gradeRank(b) })
		c.Grade = strings.Join(grades, ",")
		section := r.get("classCode")
		if section == "" {
			section = r.get("periods")
		}
		if c.Section, ok = p.text(r, "classCode", section, MaxLabelLength); !ok {
			return
		}
		school := r.get("schoolSourcedId")
		switch _, other := otherOrgs[school]; {
		case school == "":
			p.fail(r.t.file, r.line, observation.ReasonRequired, "class %q has no schoolSourcedId", id)
			return
		case other:
			p.fail(r.t.file, r.line, observation.ReasonUnknownSite, "schoolSourcedId %q is a %s org in orgs.csv, not a school", school, otherOrgs[school])
			return
		}
		if err := observation.ValidateID("schoolSourcedId", school); err != nil {
			p.fail(r.t.file, r.line, observation.ReasonBadID, "schoolSourcedId %s cannot be a lookfor site id", observation.Clip(school))
			return
		}
		c.SiteID = school
		index[id] = len(p.out.Batch.Classrooms)
		p.out.Batch.Classrooms = append(p.out.Batch.Classrooms, c)
		p.out.classLines = append(p.out.classLines, r.line)
		p.out.teacherLines = append(p.out.teacherLines, 0)
	})
}

func matchesSubject(r row, subjects []string) bool {
	have := r.list("subjects")
	if len(have) == 0 {
		have = []string{r.get("title")}
	}
	for _, h := range have {
		h = strings.ToLower(h)
		for _, s := range subjects {
			if s = strings.ToLower(strings.TrimSpace(s)); s != "" && strings.Contains(h, s) {
				return true
			}
		}
	}
	return false
}

// gradeRank orders grade codes: PK, TK, K, 1 … 12.
func gradeRank(g string) int {
	switch g {
	case "PK":
		return -2
	case "TK":
		return -1
	case "K":
		return 0
	}
	n, _ := strconv.Atoi(g)
	return n
}

// teacherPick is the teacher chosen for a class so far.
type teacherPick struct {
	user    string
	primary bool
	line    int
}

func (p *oneRosterParser) enrollments(data string, classIndex map[string]int, filtered map[string]bool, adults map[string]adult) {
	t, iss := openCSV(OneRosterEnrollments, data)
	if iss == nil {
		iss = t.require("classSourcedId", "userSourcedId", "role")
	}
	if iss != nil {
		p.issue(iss)
		return
	}
	picks := map[int]teacherPick{}
	p.each(t, func(r row) {
		role, ok := p.roleName(r, "role")
		if !ok {
			return
		}
		if role == "student" {
			p.out.Skipped.StudentEnrollments++ // never read further
			return
		}
		deleted, ok := p.status(r)
		if !ok || deleted {
			return
		}
		if role != "teacher" {
			p.out.Skipped.OtherEnrollments++
			p.warn(r.t.file, r.line, "enrollments/role/"+role, fmt.Sprintf("enrollments with role %q are skipped: lookfor records a classroom's teacher only", role))
			return
		}
		class := r.get("classSourcedId")
		ci, known := classIndex[class]
		switch {
		case class == "":
			p.fail(r.t.file, r.line, observation.ReasonRequired, "classSourcedId is empty")
			return
		case filtered[class]:
			return
		case !known:
			p.fail(r.t.file, r.line, ReasonUnknownRef, "class %s is not in classes.csv", observation.Clip(class))
			return
		}
		user := r.get("userSourcedId")
		if user == "" {
			p.fail(r.t.file, r.line, observation.ReasonRequired, "userSourcedId is empty")
			return
		}
		if a, ok := adults[user]; ok {
			var role StaffRole
			if a.index >= 0 {
				role = p.out.Batch.Staff[a.index].Role
			}
			switch {
			case role == StaffTeacher:
			case a.skipped == "student": // never echo a student's id
				p.out.Skipped.OtherEnrollments++
				p.warn(r.t.file, r.line, "enrollments/student-as-teacher", "a user who is a student in users.csv is enrolled as a teacher; the enrollment is skipped")
				return
			default:
				what := string(role)
				if a.index < 0 {
					what = a.skipped
				}
				p.out.Skipped.OtherEnrollments++
				p.warn(r.t.file, r.line, "enrollments/notteacher/"+user, fmt.Sprintf("user %q is enrolled as a teacher but is a %s in users.csv; the enrollment is skipped", user, what))
				return
			}
		} else if err := observation.ValidateID("userSourcedId", user); err != nil {
			p.fail(r.t.file, r.line, observation.ReasonBadID, "userSourcedId %s cannot be a lookfor staff id", observation.Clip(user))
			return
		}
		primary := strings.EqualFold(r.get("primary"), "true")
		prev, had := picks[ci]
		switch {
		case !had, primary && !prev.primary:
			picks[ci] = teacherPick{user: user, primary: primary, line: r.line}
		case prev.user != user && primary == prev.primary:
			p.warn(r.t.file, r.line, "enrollments/coteach/"+class, fmt.Sprintf("class %q has more than one %steacher; %q (line %d) is kept", class, map[bool]string{true: "primary ", false: ""}[primary], prev.user, prev.line))
		}
	})
	for ci, pick := range picks {
		p.out.Batch.Classrooms[ci].TeacherID = pick.user
		p.out.teacherLines[ci] = pick.line
	}
}

// finish adds the schools of the classes each teacher teaches to their site assignments and sets
// each imported site's grade band from its classes' grades.
func (p *oneRosterParser) finish(schools map[string]int) {
	staffIndex := map[string]int{}
	for i, s := range p.out.Batch.Staff {
		staffIndex[s.ID] = i
	}
	lo, hi := map[string]int{}, map[string]int{}
	for ci, c := range p.out.Batch.Classrooms {
		if i, ok := staffIndex[c.TeacherID]; ok && !slices.Contains(p.out.Batch.Staff[i].SiteIDs, c.SiteID) {
			p.out.Batch.Staff[i].SiteIDs = append(p.out.Batch.Staff[i].SiteIDs, c.SiteID)
			p.out.staffOrgs[i] = append(p.out.staffOrgs[i], orgRef{file: OneRosterClasses, line: p.out.classLines[ci]})
		}
		for _, g := range strings.Split(c.Grade, ",") {
			if g == "" {
				continue
			}
			r := gradeRank(g)
			if l, ok := lo[c.SiteID]; !ok || r < l {
				lo[c.SiteID] = r
			}
			if h, ok := hi[c.SiteID]; !ok || r > h {
				hi[c.SiteID] = r
			}
		}
	}
	name := func(r int) string {
		switch r {
		case -2:
			return "PK"
		case -1:
			return "TK"
		case 0:
			return "K"
		}
		return strconv.Itoa(r)
	}
	for i, s := range p.out.Batch.Sites {
		if l, ok := lo[s.ID]; ok {
			band := name(l)
			if h := hi[s.ID]; h != l {
				band += "-" + name(h)
			}
			p.out.Batch.Sites[i].GradeBand = band
		}
	}
}

// OneRosterImport is an import request.
type OneRosterImport struct {
	Zip     []byte // a OneRoster zip; or
	Files   OneRosterFiles
	Options OneRosterOptions
	DryRun  bool // check and count, then apply nothing
}

// ImportResult is what an import did (or, for a dry run, would do).
type ImportResult struct {
	Counts   Counts
	Warnings []ImportIssue
	Skipped  ImportSkipped
	DryRun   bool
}

// ImportOneRoster maps a OneRoster export and applies it to district d in one transaction: all of
// it, or nothing when any line is wrong. Importing the same files again changes nothing.
func (r *Service) ImportOneRoster(ctx context.Context, p observation.Principal, d string, in OneRosterImport) (ImportResult, error) {
	if err := access(p, d, true); err != nil {
		return ImportResult{}, err
	}
	files := in.Files
	if len(in.Zip) > 0 {
		if !files.empty() {
			return ImportResult{}, observation.Invalid("zip", ReasonBadOneRoster, "send either a zip or the separate CSV files, not both")
		}
		var err error
		if files, err = ReadOneRosterZip(in.Zip); err != nil {
			return ImportResult{}, err
		}
	}
	ro, err := ParseOneRoster(files, in.Options)
	if err != nil {
		return ImportResult{}, fromZip(err, len(in.Zip) > 0)
	}
	details := map[string]any{"source": "oneroster", "skipped": ro.Skipped, "warnings": len(ro.Warnings)}
	counts, err := r.write(ctx, p, d, ro.Batch, ro.locator, "roster.import_oneroster", "roster", d, details, in.DryRun)
	if err != nil {
		return ImportResult{}, fromZip(err, len(in.Zip) > 0)
	}
	return ImportResult{Counts: counts, Warnings: ro.Warnings, Skipped: ro.Skipped, DryRun: in.DryRun}, nil
}

// fromZip names the zip field in errors about files that came from the archive.
func fromZip(err error, zipped bool) error {
	var e *observation.Error
	if zipped && errors.As(err, &e) && e.Kind == observation.KindInvalid && strings.HasSuffix(e.Field, "_csv") {
		c := *e
		c.Field = "zip"
		return &c
	}
	return err
}
