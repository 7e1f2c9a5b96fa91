// Package progress is lookfor's progress engine: the implementation-progress views that districts
// read, computed from aggregate rows instead of raw records.
//
// It holds the reporting periods (school years, terms, months, ISO weeks, a district's named
// windows); the exact accumulators and statistics (level means and shares, talk-move rates,
// participation equity, agreement and quadratic-weighted kappa); small-cell suppression; the
// aggregate rows and the deltas every observation write applies to them; the views (site trends,
// district progress, classrooms, coverage, calibration, talk moves and equity, network measures)
// with their access rules; district goals; and the CSV tables of the views.
//
// It imports the core domain (package observation: rubrics, records, validation, principals,
// district settings, errors) and the standard library only: never store, the transport or
// generated code. Storage reaches it through the Store interface, and observation never imports
// it.
package progress
