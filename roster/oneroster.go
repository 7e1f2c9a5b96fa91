package roster

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/lookfor-edu/lookfor/observation"
)

// Importing a OneRoster 1.2 export: the request, what it maps to, and the result. Reading the
// files is in oneroster_csv.go; the mapping in oneroster_map.go (orgs, classes, enrollments) and
// oneroster_users.go (users and roles); problems by file and line in oneroster_issues.go.

// OneRoster 1.2 CSV file names lookfor reads. Every other file of an export (academicSessions,
// courses, demographics, ...) is never opened: lookfor stores no students.
const (
	orgsCSV        = "orgs.csv"
	usersCSV       = "users.csv"
	rolesCSV       = "roles.csv"
	classesCSV     = "classes.csv"
	enrollmentsCSV = "enrollments.csv"
)

// Import limits.
const (
	maxOneRosterFileBytes = 64 << 20 // uncompressed bytes of one CSV file in a zip
	maxOneRosterProblems  = 20       // problems listed in one error
)

// Reason codes of OneRoster imports.
const (
	reasonBadZip       = "BAD_ZIP"        // the zip archive cannot be read
	reasonBadCSV       = "BAD_CSV"        // a file is not well-formed CSV
	reasonMissingCol   = "MISSING_COLUMN" // a file lacks a column lookfor needs
	reasonBadOneRoster = "BAD_ONEROSTER"  // a value is not what the OneRoster binding allows
	reasonUnknownRef   = "UNKNOWN_REFERENCE"
	reasonFileTooLarge = "FILE_TOO_LARGE"
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

// mappedRoster is what a OneRoster export maps to: a roster batch, and where each row came from
// so that problems found against the stored roster can name the file and line.
type mappedRoster struct {
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
			return ImportResult{}, observation.Invalid("zip", reasonBadOneRoster, "send either a zip or the separate CSV files, not both")
		}
		var err error
		if files, err = readOneRosterZip(in.Zip); err != nil {
			return ImportResult{}, err
		}
	}
	ro, err := parseOneRoster(files, in.Options)
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
