package pgstate

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"net"
	"regexp"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"go.uber.org/zap"

	"github.com/syncd/syncd/migrations"
	"github.com/syncd/syncd/state"
	"github.com/syncd/syncd/state/internal/batch"
	"github.com/syncd/syncd/state/internal/runcounts"
	"github.com/syncd/syncd/state/internal/stateurl"
)

var _ state.Store = (*Store)(nil)

// VersionTable is the table goose records applied migrations in, in the
// store's schema.
const VersionTable = "syncd_schema_version"

// hint is appended to errors that suggest the server is unreachable.
const hint = "(is PostgreSQL running? check state.url)"

// schemaName limits Options.Schema to plain identifiers, so it needs no
// quoting in search_path.
var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Options tunes Open.
type Options struct {
	// Logger receives migration and lock events. Default: a no-op logger.
	Logger *zap.Logger
	// Schema, when set, is created if missing and used for all tables
	// (lowercase letters, digits, underscore). Default: the connection's
	// current schema, usually public or the URL's search_path.
	Schema string
	// AutoMigrate runs Migrate at Open. Default false: `syncd migrate` does it.
	AutoMigrate bool
}

// Store is a state.Store on PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	name string // redacted URL, for messages
	// secrets are the URL's secret fragments, scrubbed from driver errors
	// (their text may echo a host that is the tail of a password).
	secrets []string
	schema  string // resolved current_schema()
	log     *zap.Logger

	mu    sync.Mutex
	locks map[*jobLock]struct{}
}

// Open connects to the PostgreSQL database at url and checks it answers. It
// runs Migrate when opts.AutoMigrate is set.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	name := stateurl.Redact(url)
	secrets := stateurl.Secrets(url)
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgconn's parse errors already redact the password.
		return nil, fmt.Errorf("state %s: parse url: %w (check state.url)", name, stateurl.Scrub(err, secrets))
	}
	if opts.Schema != "" {
		if !schemaName.MatchString(opts.Schema) {
			return nil, fmt.Errorf("state %s: schema %q: want lowercase letters, digits and underscores", name, opts.Schema)
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = opts.Schema
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("state %s: connect: %w %s", name, stateurl.Scrub(err, secrets), hint)
	}
	s := &Store{pool: pool, name: name, secrets: secrets, log: log, locks: map[*jobLock]struct{}{}}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, s.wrap("connect", err)
	}
	if opts.Schema != "" {
		if _, err := pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{opts.Schema}.Sanitize()); err != nil {
			pool.Close()
			return nil, s.wrap("create schema "+opts.Schema, err)
		}
	}
	var schema *string
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		pool.Close()
		return nil, s.wrap("read current schema", err)
	}
	if schema == nil {
		pool.Close()
		return nil, fmt.Errorf("state %s: no current schema: the search_path names no existing schema (create it, or fix search_path in state.url)", name)
	}
	s.schema = *schema
	if opts.AutoMigrate {
		if err := s.Migrate(ctx); err != nil {
			pool.Close()
			return nil, err
		}
	}
	return s, nil
}

// Schema returns the schema holding the store's tables.
func (s *Store) Schema() string { return s.schema }

// wrap names the store and operation, and hints at the usual cause when the
// error is a connection problem.
func (s *Store) wrap(op string, err error) error {
	err = stateurl.Scrub(err, s.secrets)
	if isConnErr(err) {
		return fmt.Errorf("state %s: %s: %w %s", s.name, op, err, hint)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P01" { // undefined_table
		return fmt.Errorf("state %s: %s: %w (schema %s has no syncd tables: run `syncd migrate`)", s.name, op, err, s.schema)
	}
	return fmt.Errorf("state %s: %s: %w", s.name, op, err)
}

// isConnErr reports whether err means the server could not be reached or
// the connection was lost.
func isConnErr(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &ce), errors.As(err, &ne):
		return true
	case errors.As(err, &pe):
		// Class 08: connection exception; 57P01..03: admin shutdown, crash, cannot connect now.
		return len(pe.Code) == 5 && (pe.Code[:2] == "08" || pe.Code[:3] == "57P")
	}
	return pgconn.SafeToRetry(err)
}

// LockKey is the advisory lock key for job in schema: a 64-bit FNV-1a hash
// of ("syncd", schema, job), so stores in different schemas never collide.
// In pg_locks the key shows as classid (high 32 bits) and objid (low 32
// bits) with objsubid 1.
func LockKey(schema, job string) int64 {
	h := fnv.New64a()
	for _, part := range []string{"syncd", schema, job} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return int64(h.Sum64())
}

// migrateLockKey serialises Migrate per schema; "\x00" cannot start a job name
// that passed config validation, so it never equals a job's key.
func migrateLockKey(schema string) int64 { return LockKey(schema, "\x00migrate") }

// Migrate applies pending migrations, each in its own transaction with its
// version row. Concurrent callers serialise on an advisory lock; a schema
// newer than this binary gives an error wrapping state.ErrSchemaTooNew.
func (s *Store) Migrate(ctx context.Context) error {
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(migrateLockKey(s.schema)),
		lock.WithLockTimeout(1, 600), // poll each second, up to 10 minutes
	)
	if err != nil {
		return fmt.Errorf("state %s: migrate: %w", s.name, err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.Postgres,
		goose.WithSessionLocker(locker),
		goose.WithTableName(VersionTable),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return fmt.Errorf("state %s: migrate: %w", s.name, err)
	}
	return migrate(ctx, p, s.name, s.log.With(zap.String("schema", s.schema)), s.wrap)
}

// migrate refuses a schema from the future, then applies what is pending.
func migrate(ctx context.Context, p *goose.Provider, name string, log *zap.Logger, wrap func(string, error) error) error {
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return wrap("migrate: read schema version", err)
	}
	if current > target {
		return fmt.Errorf("state %s: schema version %d is newer than this binary's newest migration %d: upgrade syncd: %w",
			name, current, target, state.ErrSchemaTooNew)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return wrap("migrate", err)
	}
	for _, r := range results {
		log.Info("state migration applied",
			zap.Int64("version", r.Source.Version),
			zap.Duration("duration", r.Duration))
	}
	return nil
}

// Ping checks the server answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return s.wrap("ping", err)
	}
	return nil
}

// jobLock is one held advisory lock and its dedicated connection.
type jobLock struct {
	job  string
	key  int64
	conn *pgx.Conn
	once sync.Once
}

// Lock takes job's advisory lock on a dedicated connection (not a pool
// connection, which could be reused or recycled), or returns ErrLocked.
func (s *Store) Lock(ctx context.Context, job string) (func(context.Context) error, error) {
	if job == "" {
		return nil, fmt.Errorf("state %s: lock: empty job name", s.name)
	}
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("lock job %s: connect", job), err)
	}
	key := LockKey(s.schema, job)
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, s.wrap(fmt.Sprintf("lock job %s", job), err)
	}
	if !ok {
		conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("state %s: lock job %s: %w", s.name, job, state.ErrLocked)
	}
	l := &jobLock{job: job, key: key, conn: conn}
	s.mu.Lock()
	s.locks[l] = struct{}{}
	s.mu.Unlock()
	s.log.Debug("job lock taken", zap.String("job", job), zap.Uint32("backend_pid", conn.PgConn().PID()))
	return func(ctx context.Context) error { return s.unlock(ctx, l) }, nil
}

// unlock releases l once; later calls return nil.
func (s *Store) unlock(ctx context.Context, l *jobLock) error {
	var err error
	l.once.Do(func() {
		s.mu.Lock()
		delete(s.locks, l)
		s.mu.Unlock()
		var released bool
		qerr := l.conn.QueryRow(ctx, "SELECT pg_advisory_unlock($1)", l.key).Scan(&released)
		l.conn.Close(context.WithoutCancel(ctx))
		switch {
		case qerr != nil && ctx.Err() != nil:
			// Closing the connection released the lock as surely as the query.
		case qerr != nil:
			err = fmt.Errorf("state %s: unlock job %s: %w (the lock's connection is gone; the server released the lock when it ended, possibly while the job ran)", s.name, l.job, qerr)
		case !released:
			err = fmt.Errorf("state %s: unlock job %s: the lock was no longer held", s.name, l.job)
		}
	})
	return err
}

// StartRun records a new running run. A zero StartedAt means now.
func (s *Store) StartRun(ctx context.Context, run state.Run) (state.Run, error) {
	if run.StartedAt.IsZero() {
		run.StartedAt = time.Now()
	}
	run.StartedAt = run.StartedAt.UTC().Truncate(time.Microsecond)
	run.Status = state.RunRunning
	counts, err := runcounts.Marshal(run.Counts)
	if err != nil {
		return state.Run{}, fmt.Errorf("state %s: start run job=%s: %w", s.name, run.Job, err)
	}
	err = s.pool.QueryRow(ctx,
		`INSERT INTO runs (job, mode, started_at, status, counts, error)
		 VALUES ($1, $2, $3, $4, $5::jsonb, $6) RETURNING id`,
		run.Job, run.Mode, run.StartedAt, string(run.Status), counts, run.Error).Scan(&run.ID)
	if err != nil {
		return state.Run{}, s.wrap("start run job="+run.Job, err)
	}
	return run, nil
}

// FinishRun records the end of run.ID. A zero FinishedAt means now.
func (s *Store) FinishRun(ctx context.Context, run state.Run) error {
	if run.Status == "" || run.Status == state.RunRunning {
		return fmt.Errorf("state %s: finish run %d: status %q is not a final status", s.name, run.ID, run.Status)
	}
	if run.FinishedAt.IsZero() {
		run.FinishedAt = time.Now()
	}
	counts, err := runcounts.Marshal(run.Counts)
	if err != nil {
		return fmt.Errorf("state %s: finish run %d: %w", s.name, run.ID, err)
	}
	tag, err := s.pool.Exec(ctx,
		`UPDATE runs SET finished_at = $2, status = $3, counts = $4::jsonb, error = $5, mode = COALESCE(NULLIF($6, ''), mode) WHERE id = $1`,
		run.ID, run.FinishedAt.UTC(), string(run.Status), counts, run.Error, run.Mode)
	if err != nil {
		return s.wrap(fmt.Sprintf("finish run %d", run.ID), err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("state %s: finish run %d: no such run", s.name, run.ID)
	}
	return nil
}

// Runs returns up to limit of job's runs ("" = all jobs), newest first;
// limit <= 0 means no limit.
func (s *Store) Runs(ctx context.Context, job string, limit int) ([]state.Run, error) {
	q := `SELECT id, job, mode, started_at, finished_at, status, counts, error FROM runs`
	args := []any{}
	if job != "" {
		q += ` WHERE job = $1`
		args = append(args, job)
	}
	q += ` ORDER BY started_at DESC, id DESC`
	if limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, limit)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, s.wrap("list runs job="+job, err)
	}
	defer rows.Close()
	var runs []state.Run
	for rows.Next() {
		var (
			r        state.Run
			finished pgtype.Timestamptz
			status   string
			counts   []byte
		)
		if err := rows.Scan(&r.ID, &r.Job, &r.Mode, &r.StartedAt, &finished, &status, &counts, &r.Error); err != nil {
			return nil, s.wrap("list runs job="+job, err)
		}
		r.StartedAt = r.StartedAt.UTC()
		if finished.Valid {
			r.FinishedAt = finished.Time.UTC()
		}
		r.Status = state.RunStatus(status)
		if err := json.Unmarshal(counts, &r.Counts); err != nil {
			return nil, fmt.Errorf("state %s: list runs: run %d counts: %w", s.name, r.ID, err)
		}
		runs = append(runs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("list runs job="+job, err)
	}
	return runs, nil
}

// Checkpoints streams job's checkpoints to fn, one row at a time. Rows in
// binary format (pgx's default) are decoded straight from the wire, which
// halves the client's CPU per row against rows.Scan; anything else goes
// through rows.Scan.
func (s *Store) Checkpoints(ctx context.Context, job string, fn func(state.Checkpoint) error) error {
	return s.checkpoints(ctx, job, fn, checkpointsSQL, job)
}

// forBatch is how many anchors one CheckpointsFor query asks for.
const forBatch = 10000

// CheckpointsFor streams job's checkpoints of anchors to fn, asking for
// forBatch anchors a query.
func (s *Store) CheckpointsFor(ctx context.Context, job string, anchors []string, fn func(state.Checkpoint) error) error {
	for len(anchors) > 0 {
		n := min(len(anchors), forBatch)
		if err := s.checkpoints(ctx, job, fn, checkpointsSQL+` AND anchor = ANY($2::text[])`, job, anchors[:n]); err != nil {
			return err
		}
		anchors = anchors[n:]
	}
	return nil
}

func (s *Store) checkpoints(ctx context.Context, job string, fn func(state.Checkpoint) error, query string, args ...any) error {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return s.wrap("read checkpoints job="+job, err)
	}
	defer rows.Close()
	raw := decodable(rows.FieldDescriptions())
	var (
		cp                              state.Checkpoint
		status                          string
		firstSeen, lastSeen, lastSynced pgtype.Timestamptz
		disabledAt, deletedAt           pgtype.Timestamptz
		failures                        int32
	)
	dest := []any{&cp.Anchor, &cp.UserID, &cp.Username, &cp.PopulationID, &cp.Enabled, &cp.Hash, &cp.Attributes,
		&firstSeen, &lastSeen, &lastSynced, &status, &cp.LastError, &failures, &disabledAt, &deletedAt}
	for rows.Next() {
		cp = state.Checkpoint{}
		if raw {
			if err := decodeCheckpoint(rows.RawValues(), &cp); err != nil {
				return s.wrap("read checkpoints job="+job, err)
			}
		} else {
			if err := rows.Scan(dest...); err != nil {
				return s.wrap("read checkpoints job="+job, err)
			}
			cp.Status = state.Status(status)
			cp.Failures = int(failures)
			cp.FirstSeen = tsTime(firstSeen)
			cp.LastSeen = tsTime(lastSeen)
			cp.LastSynced = tsTime(lastSynced)
			cp.DisabledAt, cp.DeletedAt = tsTime(disabledAt), tsTime(deletedAt)
		}
		if err := fn(cp); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.wrap("read checkpoints job="+job, err)
	}
	return nil
}

// checkpointsSQL reads a job's checkpoints; decodeCheckpoint follows its
// column order.
const checkpointsSQL = `SELECT anchor, user_id, username, population_id, enabled, hash, attributes,
       first_seen, last_seen, last_synced, status, last_error, failures, disabled_at, deleted_at
  FROM checkpoints WHERE job = $1`

// checkpointOIDs are the column types of the Checkpoints query, in order.
var checkpointOIDs = [...]uint32{
	pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, pgtype.BoolOID, pgtype.TextOID, pgtype.ByteaOID,
	pgtype.TimestamptzOID, pgtype.TimestamptzOID, pgtype.TimestamptzOID, pgtype.TextOID, pgtype.TextOID, pgtype.Int4OID,
	pgtype.TimestamptzOID, pgtype.TimestamptzOID,
}

// decodable reports whether the columns are the expected types, in the
// formats decodeCheckpoint reads (binary, or text for text columns).
func decodable(fds []pgconn.FieldDescription) bool {
	if len(fds) != len(checkpointOIDs) {
		return false
	}
	for i, fd := range fds {
		if fd.DataTypeOID != checkpointOIDs[i] {
			return false
		}
		// pgx asks for text columns in text format: the same bytes as binary.
		if fd.Format != pgx.BinaryFormatCode && fd.DataTypeOID != pgtype.TextOID {
			return false
		}
	}
	return true
}

// pgEpochMicros is 2000-01-01T00:00:00Z, PostgreSQL's timestamp epoch, in
// Unix microseconds.
const pgEpochMicros = 946_684_800_000_000

// decodeCheckpoint reads one binary row of the Checkpoints query. The
// values alias pgx's read buffer, so everything kept is copied.
func decodeCheckpoint(v [][]byte, cp *state.Checkpoint) error {
	str := func(b []byte) string { return string(b) }
	ts := func(i int) (time.Time, error) {
		switch len(v[i]) {
		case 0:
			if v[i] == nil {
				return time.Time{}, nil
			}
		case 8:
			us := int64(binary.BigEndian.Uint64(v[i]))
			if us == math.MaxInt64 || us == math.MinInt64 { // ±infinity: never written by syncd
				return time.Time{}, fmt.Errorf("column %d: infinite timestamp", i)
			}
			return time.UnixMicro(us + pgEpochMicros).UTC(), nil
		}
		return time.Time{}, fmt.Errorf("column %d: timestamptz of %d bytes", i, len(v[i]))
	}
	if len(v[4]) != 1 || len(v[12]) != 4 {
		return fmt.Errorf("unexpected enabled/failures encoding (%d, %d bytes)", len(v[4]), len(v[12]))
	}
	cp.Anchor, cp.UserID, cp.Username, cp.PopulationID = str(v[0]), str(v[1]), str(v[2]), str(v[3])
	cp.Enabled = v[4][0] != 0
	cp.Hash = str(v[5])
	if v[6] != nil {
		cp.Attributes = bytes.Clone(v[6])
		if cp.Attributes == nil {
			cp.Attributes = []byte{}
		}
	}
	var err error
	if cp.FirstSeen, err = ts(7); err != nil {
		return err
	}
	if cp.LastSeen, err = ts(8); err != nil {
		return err
	}
	if cp.LastSynced, err = ts(9); err != nil {
		return err
	}
	switch string(v[10]) { // the common statuses without an allocation
	case string(state.StatusActive):
		cp.Status = state.StatusActive
	case string(state.StatusDisabled):
		cp.Status = state.StatusDisabled
	case string(state.StatusFailed):
		cp.Status = state.StatusFailed
	case string(state.StatusConflict):
		cp.Status = state.StatusConflict
	default:
		cp.Status = state.Status(v[10])
	}
	if len(v[11]) > 0 {
		cp.LastError = str(v[11])
	}
	cp.Failures = int(int32(binary.BigEndian.Uint32(v[12])))
	if cp.DisabledAt, err = ts(13); err != nil {
		return err
	}
	if cp.DeletedAt, err = ts(14); err != nil {
		return err
	}
	return nil
}

// tsTime returns t in UTC, or the zero time for NULL.
func tsTime(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// ts converts t for a nullable timestamptz column (zero -> NULL).
func ts(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: t, Valid: true}
}

// upsertSQL writes a batch as parallel arrays. first_seen keeps the stored
// value when there is one.
const upsertSQL = `
INSERT INTO checkpoints AS c (job, anchor, user_id, username, population_id, enabled, hash, attributes,
                              first_seen, last_seen, last_synced, status, last_error, failures, disabled_at, deleted_at)
SELECT $1, u.* FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::text[],
                           $8::bytea[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[],
                           $12::text[], $13::text[], $14::integer[], $15::timestamptz[], $16::timestamptz[]) AS u
ON CONFLICT (job, anchor) DO UPDATE SET
    user_id       = EXCLUDED.user_id,
    username      = EXCLUDED.username,
    population_id = EXCLUDED.population_id,
    enabled       = EXCLUDED.enabled,
    hash          = EXCLUDED.hash,
    attributes    = EXCLUDED.attributes,
    first_seen    = COALESCE(c.first_seen, EXCLUDED.first_seen),
    last_seen     = EXCLUDED.last_seen,
    last_synced   = EXCLUDED.last_synced,
    status        = EXCLUDED.status,
    last_error    = EXCLUDED.last_error,
    failures      = EXCLUDED.failures,
    disabled_at   = EXCLUDED.disabled_at,
    deleted_at    = EXCLUDED.deleted_at`

// SaveCheckpoints upserts cps for job in one statement and one transaction.
// When an anchor repeats in cps, its last occurrence wins.
func (s *Store) SaveCheckpoints(ctx context.Context, job string, cps []state.Checkpoint) error {
	cps, err := batch.Prepare(cps)
	if err != nil {
		return fmt.Errorf("state %s: save checkpoints job=%s: %w", s.name, job, err)
	}
	if len(cps) == 0 {
		return nil
	}
	n := len(cps)
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, upsertSQL, upsertArgs(job, cps)...); err != nil {
			return err
		}
		return s.verifyLock(ctx, tx, job)
	})
	if err != nil {
		return s.wrap(fmt.Sprintf("save %d checkpoints job=%s (nothing written)", n, job), err)
	}
	return nil
}

// upsertArgs are upsertSQL's arguments for prepared cps.
func upsertArgs(job string, cps []state.Checkpoint) []any {
	n := len(cps)
	var (
		anchors, userIDs, usernames, pops, hashes, statuses, lastErrors = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		enabled                                                         = make([]bool, n)
		attrs                                                           = make([][]byte, n)
		firstSeen, lastSeen, lastSynced                                 = make([]pgtype.Timestamptz, n), make([]pgtype.Timestamptz, n), make([]pgtype.Timestamptz, n)
		disabledAt, deletedAt                                           = make([]pgtype.Timestamptz, n), make([]pgtype.Timestamptz, n)
		failures                                                        = make([]int32, n)
	)
	for i, cp := range cps {
		anchors[i], userIDs[i], usernames[i], pops[i], hashes[i] = cp.Anchor, cp.UserID, cp.Username, cp.PopulationID, cp.Hash
		statuses[i], lastErrors[i], enabled[i], attrs[i] = string(cp.Status), cp.LastError, cp.Enabled, cp.Attributes
		firstSeen[i], lastSeen[i], lastSynced[i] = ts(cp.FirstSeen), ts(cp.LastSeen), ts(cp.LastSynced)
		failures[i] = int32(min(cp.Failures, 1<<31-1))
		disabledAt[i], deletedAt[i] = ts(cp.DisabledAt), ts(cp.DeletedAt)
	}
	return []any{job, anchors, userIDs, usernames, pops, enabled, hashes,
		attrs, firstSeen, lastSeen, lastSynced, statuses, lastErrors, failures, disabledAt, deletedAt}
}

// DeleteCheckpoints removes job's checkpoints for anchors in one statement.
func (s *Store) DeleteCheckpoints(ctx context.Context, job string, anchors []string) error {
	if len(anchors) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM checkpoints WHERE job = $1 AND anchor = ANY($2::text[])`, job, anchors)
		return err
	})
	if err != nil {
		return s.wrap(fmt.Sprintf("delete %d checkpoints job=%s (nothing deleted)", len(anchors), job), err)
	}
	return nil
}

// CountByStatus counts job's checkpoints per status.
func (s *Store) CountByStatus(ctx context.Context, job string) (map[state.Status]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT status, count(*) FROM checkpoints WHERE job = $1 GROUP BY status`, job)
	if err != nil {
		return nil, s.wrap("count checkpoints job="+job, err)
	}
	defer rows.Close()
	out := map[state.Status]int{}
	for rows.Next() {
		var (
			status string
			n      int64
		)
		if err := rows.Scan(&status, &n); err != nil {
			return nil, s.wrap("count checkpoints job="+job, err)
		}
		out[state.Status(status)] = int(n)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("count checkpoints job="+job, err)
	}
	return out, nil
}

// Cursor returns job's cursor, or the zero Cursor when none was saved.
func (s *Store) Cursor(ctx context.Context, job string) (state.Cursor, error) {
	var (
		c    state.Cursor
		last pgtype.Timestamptz
	)
	err := s.pool.QueryRow(ctx, `SELECT value, last_full_read FROM cursors WHERE job = $1`, job).Scan(&c.Value, &last)
	if errors.Is(err, pgx.ErrNoRows) {
		return state.Cursor{}, nil
	}
	if err != nil {
		return state.Cursor{}, s.wrap("read cursor job="+job, err)
	}
	c.LastFullRead = tsTime(last)
	return c, nil
}

// SetCursor saves job's cursor.
func (s *Store) SetCursor(ctx context.Context, job string, c state.Cursor) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO cursors (job, value, last_full_read, updated_at) VALUES ($1, $2, $3, now())
		 ON CONFLICT (job) DO UPDATE SET value = EXCLUDED.value, last_full_read = EXCLUDED.last_full_read, updated_at = now()`,
		job, c.Value, ts(c.LastFullRead))
	if err != nil {
		return s.wrap("save cursor job="+job, err)
	}
	return nil
}

// Close releases any job locks still held, then the pool.
func (s *Store) Close() error {
	s.mu.Lock()
	held := make([]*jobLock, 0, len(s.locks))
	for l := range s.locks {
		held = append(held, l)
	}
	s.mu.Unlock()
	var errs []error
	for _, l := range held {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, s.unlock(ctx, l))
		cancel()
	}
	s.pool.Close()
	return errors.Join(errs...)
}
