// Package roster is lookfor's roster domain: the sites, classrooms and staff of each district, as
// district admins write them one at a time, in bulk (all rows or none) or by importing a
// OneRoster 1.2 CSV export; the student-group definitions and settings district admins change;
// and the keyset-paged reads that coaches and principals get for their own sites. The OneRoster
// mapping reads orgs, users, roles, classes and enrollments only, never stores a student, and
// reports every problem by file and line.
//
// It imports observation (the core: errors, principals and roles, audit entries, the district
// settings and their invariants, and the District, Site and Classroom types the core reads) and
// the standard library only; never store, pgx, grpc or the generated code. observation never
// imports roster. Storage implements Store; the server maps RosterService onto the use-cases.
package roster
