package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	gosync "sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lookfor-edu/lookfor/observation"
)

var _ observation.RubricStore = (*Store)(nil)

const versionColumns = `district_id, rubric_id, version, status, content, content_hash, created_by,
	created_at, updated_at, published_at, retired_at`

func scanVersion(row pgx.Row) (observation.RubricVersion, error) { return scanVersionWith(row, nil) }

// scanVersionWith scans a version row. With a cache, a NULL content column (the query left it
// out because the cache holds that content hash) is filled from the cache, and content read
// from the row is remembered.
func scanVersionWith(row pgx.Row, c *rubricCache) (observation.RubricVersion, error) {
	var v observation.RubricVersion
	var content []byte
	var status string
	err := row.Scan(&v.OwnerID, &v.RubricID, &v.Version, &status, &content, &v.ContentHash, &v.CreatedBy,
		&v.CreatedAt, &v.UpdatedAt, &v.PublishedAt, &v.RetiredAt)
	if err != nil {
		return v, err
	}
	v.Status = observation.VersionStatus(status)
	if content == nil && c != nil {
		c.mu.RLock()
		v.Content = c.content[v.ContentHash]
		c.mu.RUnlock()
		return v, nil
	}
	if err := json.Unmarshal(content, &v.Content); err != nil {
		return v, fmt.Errorf("rubric %s v%d: stored content is not readable: %w", v.RubricID, v.Version, err)
	}
	if c != nil {
		c.remember(v.ContentHash, v.Content)
	}
	return v, nil
}

// ListRubrics returns rubrics owned by owners (nil: all), network first, then by id.
func (s *Store) ListRubrics(ctx context.Context, owners []string) ([]observation.Rubric, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT v.district_id, v.rubric_id, v.version, v.status, v.content_hash, v.updated_at, v.content->'title'
		FROM rubric_versions v
		WHERE $1::text[] IS NULL OR v.district_id = ANY($1)
		ORDER BY v.district_id <> 'network', v.district_id, v.rubric_id, v.version`, owners)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []observation.Rubric
	for rows.Next() {
		var owner, id, status, hash string
		var version int
		var updated time.Time
		var title observation.Text
		if err := rows.Scan(&owner, &id, &version, &status, &hash, &updated, &title); err != nil {
			return nil, classify(err)
		}
		if n := len(out); n == 0 || out[n-1].OwnerID != owner || out[n-1].ID != id {
			out = append(out, observation.Rubric{OwnerID: owner, ID: id})
		}
		rb := &out[len(out)-1]
		st := observation.VersionStatus(status)
		rb.Versions = append(rb.Versions, observation.VersionSummary{Version: version, Status: st, ContentHash: hash, UpdatedAt: updated})
		// The rubric's title is the newest published version's, else the newest version's.
		if st == observation.StatusPublished {
			rb.LatestPublished, rb.Title = version, title
		} else if rb.LatestPublished == 0 {
			rb.Title = title
		}
	}
	return out, classify(rows.Err())
}

// GetRubricVersion returns one version; version 0 is the newest published one.
func (s *Store) GetRubricVersion(ctx context.Context, rubricID string, version int) (observation.RubricVersion, error) {
	var row pgx.Row
	if version == 0 {
		row = s.pool.QueryRow(ctx, `SELECT `+versionColumns+` FROM rubric_versions
			WHERE rubric_id = $1 AND status = 'published' ORDER BY version DESC LIMIT 1`, rubricID)
	} else {
		row = s.pool.QueryRow(ctx, `SELECT `+versionColumns+` FROM rubric_versions
			WHERE rubric_id = $1 AND version = $2`, rubricID, version)
	}
	v, err := scanVersion(row)
	if err != nil {
		if err == pgx.ErrNoRows {
			return v, notFoundVersion(rubricID, version)
		}
		return v, classify(err)
	}
	return v, nil
}

// notFoundVersion must read exactly like the error observation.Rubrics gives for a version
// outside the caller's scope, so that a caller cannot tell hidden from missing (DESIGN §8).
func notFoundVersion(rubricID string, version int) error {
	if version == 0 {
		return observation.NotFound("published version of rubric", rubricID)
	}
	return &observation.Error{Kind: observation.KindNotFound, Reason: "NOT_FOUND",
		Message: fmt.Sprintf("rubric %q version %d not found", rubricID, version)}
}

// CreateRubric stores a rubric and its first version in one transaction.
func (s *Store) CreateRubric(ctx context.Context, v observation.RubricVersion, audit observation.AuditEntry) error {
	err := s.ReadWriteTx(ctx, func(tx pgx.Tx) error {
		// The owner is the network or a district that exists (FOR KEY SHARE: it cannot be deleted
		// before this commits); the answer for a missing district is the one an outsider gets.
		if v.OwnerID != observation.NetworkOwner {
			var one int
			err := tx.QueryRow(ctx, `SELECT 1 FROM districts WHERE district_id = $1 FOR KEY SHARE`, v.OwnerID).Scan(&one)
			if errors.Is(err, pgx.ErrNoRows) {
				return observation.NotFound("district", v.OwnerID)
			}
			if err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO rubrics (district_id, rubric_id, created_by, created_at)
			VALUES ($1, $2, $3, $4)`, v.OwnerID, v.RubricID, v.CreatedBy, v.CreatedAt); err != nil {
			return err
		}
		if err := insertVersion(ctx, tx, v); err != nil {
			return err
		}
		return auditVersion(ctx, tx, audit, v)
	})
	if observation.KindOf(err) == observation.KindAlreadyExists {
		return &observation.Error{Kind: observation.KindAlreadyExists, Reason: "RUBRIC_EXISTS", Field: "rubric_id",
			Message: fmt.Sprintf("a rubric with id %q already exists in the network", v.RubricID)}
	}
	return err
}

func insertVersion(ctx context.Context, tx pgx.Tx, v observation.RubricVersion) error {
	content, err := json.Marshal(v.Content)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO rubric_versions (`+versionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		v.OwnerID, v.RubricID, v.Version, string(v.Status), content, v.ContentHash, v.CreatedBy,
		v.CreatedAt, v.UpdatedAt, v.PublishedAt, v.RetiredAt)
	return err
}

// CreateVersion locks the rubric row, hands fn the newest version and inserts fn's result.
func (s *Store) CreateVersion(ctx context.Context, rubricID string, audit observation.AuditEntry, fn func(observation.RubricVersion) (observation.RubricVersion, error)) (observation.RubricVersion, error) {
	var out observation.RubricVersion
	err := s.ReadWriteTx(ctx, func(tx pgx.Tx) error {
		var owner string
		if err := tx.QueryRow(ctx, `SELECT district_id FROM rubrics WHERE rubric_id = $1 FOR UPDATE`, rubricID).Scan(&owner); err != nil {
			if err == pgx.ErrNoRows {
				return observation.NotFound("rubric", rubricID)
			}
			return err
		}
		newest, err := scanVersion(tx.QueryRow(ctx, `SELECT `+versionColumns+` FROM rubric_versions
			WHERE district_id = $1 AND rubric_id = $2 ORDER BY version DESC LIMIT 1`, owner, rubricID))
		if err != nil {
			return err
		}
		if out, err = fn(newest); err != nil {
			return err
		}
		if err := insertVersion(ctx, tx, out); err != nil {
			return err
		}
		return auditVersion(ctx, tx, audit, out)
	})
	return out, err
}

// UpdateVersion locks one version row, lets fn change it, and writes it back.
func (s *Store) UpdateVersion(ctx context.Context, rubricID string, version int, audit observation.AuditEntry, fn func(*observation.RubricVersion) error) (observation.RubricVersion, error) {
	var v observation.RubricVersion
	err := s.ReadWriteTx(ctx, func(tx pgx.Tx) error {
		var err error
		v, err = scanVersion(tx.QueryRow(ctx, `SELECT `+versionColumns+` FROM rubric_versions
			WHERE rubric_id = $1 AND version = $2 FOR UPDATE`, rubricID, version))
		if err == pgx.ErrNoRows {
			return notFoundVersion(rubricID, version)
		}
		if err != nil {
			return err
		}
		before := v
		if err := fn(&v); err != nil {
			return err
		}
		if v.Status == before.Status && v.ContentHash == before.ContentHash && v.UpdatedAt.Equal(before.UpdatedAt) {
			return nil // nothing changed (an idempotent retry)
		}
		content, err := json.Marshal(v.Content)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE rubric_versions
			SET status = $4, content = $5, content_hash = $6, updated_at = $7, published_at = $8, retired_at = $9
			WHERE district_id = $1 AND rubric_id = $2 AND version = $3`,
			v.OwnerID, v.RubricID, v.Version, string(v.Status), content, v.ContentHash, v.UpdatedAt, v.PublishedAt, v.RetiredAt)
		if err != nil {
			return err
		}
		return auditVersion(ctx, tx, audit, v)
	})
	return v, err
}

// auditVersion records audit for a write of v, in v's owner's log.
func auditVersion(ctx context.Context, tx pgx.Tx, audit observation.AuditEntry, v observation.RubricVersion) error {
	if audit.Action == "" {
		return nil
	}
	audit.DistrictID = v.OwnerID
	details := map[string]any{"version": v.Version, "status": v.Status, "content_hash": v.ContentHash}
	for k, val := range audit.Details {
		details[k] = val
	}
	audit.Details = details
	return insertAudit(ctx, tx, audit)
}

// rubricCache holds parsed rubric content by content hash. Content never changes under a hash,
// so entries never go stale; a network has a handful of rubric versions, so it stays small.
type rubricCache struct {
	mu      gosync.RWMutex
	content map[string]observation.RubricContent
	hashes  []string
}

func (s *Store) rubricHashes() []string {
	s.rubrics.mu.RLock()
	defer s.rubrics.mu.RUnlock()
	return s.rubrics.hashes
}

// remember keeps parsed content under its hash (at most 1,000 hashes).
func (c *rubricCache) remember(hash string, content observation.RubricContent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.content[hash]; ok || len(c.hashes) >= 1000 {
		return
	}
	if c.content == nil {
		c.content = map[string]observation.RubricContent{}
	}
	c.content[hash] = content
	c.hashes = append(slices.Clip(c.hashes), hash)
}
