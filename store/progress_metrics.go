package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/lookfor-edu/lookfor/progress"
)

// The counters of aggregate rows travel as flat JSON objects of integers (jsonb on the
// server). A view reads tens of thousands of them, so they are decoded here by a small parser
// of the one shape PostgreSQL prints them in, with metric names shared between rows, instead
// of by encoding/json (which took most of a district view's time); anything else falls back to
// encoding/json.

// metricsDecoder decodes counters, sharing each metric name string between the rows it decodes
// (and the key columns' strings: a view's rows repeat a few dozen of them).
type metricsDecoder struct {
	names map[string]string
}

func newMetricsDecoder() *metricsDecoder { return &metricsDecoder{names: map[string]string{}} }

// name returns b as a string, the same string for the same bytes (no allocation when known).
func (d *metricsDecoder) name(b []byte) string {
	s, ok := d.names[string(b)]
	if !ok {
		s = string(b)
		d.names[s] = s
	}
	return s
}

// decode parses a flat JSON object of integers into Metrics.
func (d *metricsDecoder) decode(b []byte) (progress.Metrics, error) {
	if m, ok := d.fast(b); ok {
		return m, nil
	}
	var m progress.Metrics
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("aggregate counters are not readable: %w", err)
	}
	return m, nil
}

// fast parses b when it is an object of plain ASCII names (no escapes) and integer values.
func (d *metricsDecoder) fast(b []byte) (progress.Metrics, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, false
	}
	m := make(progress.Metrics, bytes.Count(b, []byte{':'})) // one colon per counter: no regrowth
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return m, skipSpace(b, i+1) == len(b)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return nil, false
		}
		j := i + 1
		for j < len(b) && b[j] != '"' {
			if b[j] == '\\' || b[j] < 0x20 || b[j] >= 0x80 {
				return nil, false
			}
			j++
		}
		if j >= len(b) {
			return nil, false
		}
		name := d.name(b[i+1 : j])
		i = skipSpace(b, j+1)
		if i >= len(b) || b[i] != ':' {
			return nil, false
		}
		i = skipSpace(b, i+1)
		j = i
		if j < len(b) && b[j] == '-' {
			j++
		}
		digits := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j-digits > 1 && b[digits] == '0' { // JSON has no leading zeros
			return nil, false
		}
		v, err := strconv.ParseInt(string(b[i:j]), 10, 64) // no allocation: the conversion does not escape
		if err != nil {
			return nil, false
		}
		m[name] = v
		i = skipSpace(b, j)
		if i >= len(b) {
			return nil, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return m, skipSpace(b, i+1) == len(b)
		default:
			return nil, false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
