package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/lookfor-edu/lookfor/progress"
)

// The counters of aggregate rows travel as flat JSON objects of integers, stored as text
// (migration 00019; jsonb before, whose printed form has spaces). A view reads tens of
// thousands of them, so they are decoded here by a small parser of that one shape, with metric
// names shared between rows, instead of by encoding/json (which took most of a district view's
// time); anything else falls back to encoding/json.

// metricsDecoder decodes counters, sharing each metric name string between the rows it decodes
// (and the key columns' strings: a view's rows repeat a few dozen of them).
type metricsDecoder struct {
	names map[string]string
	keys  map[string]progress.MetricKey
}

func newMetricsDecoder() *metricsDecoder {
	return &metricsDecoder{names: map[string]string{}, keys: map[string]progress.MetricKey{}}
}

// key returns the key of the metric named b (no allocation when this decoder met it before).
func (d *metricsDecoder) key(b []byte) progress.MetricKey {
	k, ok := d.keys[string(b)]
	if !ok {
		name := string(b)
		k = progress.KeyOf(name)
		d.keys[name] = k
	}
	return k
}

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
	var m map[string]int64
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("aggregate counters are not readable: %w", err)
	}
	return progress.MetricsOf(m), nil
}

// fast parses b when it is an object of plain ASCII names (no escapes) and integer values.
func (d *metricsDecoder) fast(b []byte) (progress.Metrics, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, false
	}
	var m progress.MetricsBuilder
	m.Grow(bytes.Count(b, []byte{':'})) // one colon per counter: no regrowth
	added := 0                          // a name twice is left to encoding/json (the last one counts)
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return m.Metrics(), skipSpace(b, i+1) == len(b)
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
		key := d.key(b[i+1 : j])
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
		m.Add(key, v)
		added++
		i = skipSpace(b, j)
		if i >= len(b) {
			return nil, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			out := m.Metrics()
			return out, skipSpace(b, i+1) == len(b) && len(out) == added
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
