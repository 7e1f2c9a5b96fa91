package observation

import (
	"strconv"
	"strings"
)

// CSVSafe keeps a text field (a site name, a goal title, an evidence note) from being run as a
// formula when a CSV file is opened in a spreadsheet: a field starting with =, +, -, @, tab or
// carriage return that is not a number gets a leading apostrophe. Numbers, negative ones
// included, are unchanged. Every CSV lookfor writes (the progress views, a district's export)
// passes its text through it.
func CSVSafe(f string) string {
	if f == "" || !strings.ContainsRune("=+-@\t\r", rune(f[0])) {
		return f
	}
	if _, err := strconv.ParseFloat(f, 64); err == nil {
		return f
	}
	return "'" + f
}
