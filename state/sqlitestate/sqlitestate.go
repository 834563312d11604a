package sqlitestate

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	"go.uber.org/zap"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/syncd/syncd/migrations"
	"github.com/syncd/syncd/state"
	"github.com/syncd/syncd/state/internal/batch"
	"github.com/syncd/syncd/state/internal/runcounts"
)

var _ state.Store = (*Store)(nil)

// VersionTable is the table goose records applied migrations in.
const VersionTable = "syncd_schema_version"

// chunkRows is how many checkpoints go in one INSERT: 500 rows x 16 columns
// = 8000 bound variables, well under SQLite's limit of 32766.
const chunkRows = 500

// Options tunes Open.
type Options struct {
	// Logger receives migration and lock events. Default: a no-op logger.
	Logger *zap.Logger
	// AutoMigrate runs Migrate at Open. Default false: `syncd migrate` does it.
	AutoMigrate bool
	// BusyTimeout is how long a statement waits for another process's write
	// lock before failing with "database is locked". Default 10s.
	BusyTimeout time.Duration
}

// Store is a state.Store in one SQLite file. It is safe for concurrent use.
type Store struct {
	path string  // absolute path of the database file
	name string  // sqlite://path, for messages
	w    *sql.DB // the single writer connection
	r    *sql.DB // readers
	log  *zap.Logger

	mu    sync.Mutex
	locks map[*fileLock]struct{}
}

// Open opens (creating if missing, mode 0600: it holds personal data) the
// SQLite database at path and checks it is readable. Its directory must
// exist. It runs Migrate when opts.AutoMigrate is set.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("state sqlite://%s: %w", path, err)
	}
	name := "sqlite://" + abs
	if strings.ContainsAny(abs, "?#") {
		return nil, fmt.Errorf("state %s: the path may not contain '?' or '#' (check state.url)", name)
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = 10 * time.Second
	}
	if fi, err := os.Stat(filepath.Dir(abs)); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("state %s: directory %s does not exist (create it, or fix state.url)", name, filepath.Dir(abs))
	}
	if err := checkFiles(name, abs); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state %s: open: %w (check the path and its permissions)", name, err)
	}
	f.Close()
	if err := tighten(name, abs, log); err != nil {
		return nil, err
	}

	common := fmt.Sprintf("file:%s?_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)",
		abs, busy.Milliseconds())
	s := &Store{path: abs, name: name, log: log, locks: map[*fileLock]struct{}{}}
	s.w, err = sql.Open("sqlite", common+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, s.wrap("open", err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetConnMaxIdleTime(0)
	// The writer connection switches the file to WAL before any reader opens.
	if err := s.w.PingContext(ctx); err != nil {
		s.w.Close()
		return nil, s.wrap("open", err)
	}
	s.r, err = sql.Open("sqlite", common+"&_pragma=query_only(1)")
	if err != nil {
		s.w.Close()
		return nil, s.wrap("open", err)
	}
	s.r.SetMaxOpenConns(4)
	// Reading the schema catches a file that is not a database at start.
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
		s.closeDBs()
		return nil, s.wrap("open", err)
	}
	// The WAL and shared-memory files SQLite just created follow the
	// umask, not the database: tighten them too.
	if err := tighten(name, abs, log); err != nil {
		s.closeDBs()
		return nil, err
	}
	if opts.AutoMigrate {
		if err := s.Migrate(ctx); err != nil {
			s.closeDBs()
			return nil, err
		}
	}
	return s, nil
}

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

func (s *Store) closeDBs() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// wrap names the store and operation, and says what to do for the SQLite
// errors an operator can fix.
func (s *Store) wrap(op string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("state %s: %s: %w (another process holds the database locked: another syncd, or an sqlite3 shell?)", s.name, op, err)
		case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
			return fmt.Errorf("state %s: %s: %w (not a syncd state database, or corrupt: restore it from a backup, or move it aside and run `syncd migrate` to start afresh; users are then re-adopted by their anchor)", s.name, op, err)
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_READONLY:
			return fmt.Errorf("state %s: %s: %w (check the file and its directory are writable by syncd)", s.name, op, err)
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR:
			return fmt.Errorf("state %s: %s: %w (check the disk: full or failing?)", s.name, op, err)
		}
	}
	if se != nil && strings.Contains(se.Error(), "no such table") {
		return fmt.Errorf("state %s: %s: %w (the database has no syncd tables: run `syncd migrate`)", s.name, op, err)
	}
	return fmt.Errorf("state %s: %s: %w", s.name, op, err)
}

// Migrate applies pending migrations, each in its own transaction with its
// version row. Concurrent callers, in this or other processes, serialise on
// a file lock; a schema newer than this binary gives an error wrapping
// state.ErrSchemaTooNew.
func (s *Store) Migrate(ctx context.Context) error {
	l, err := lockFile(ctx, s.path+".migrate.lock", true)
	if err != nil {
		return fmt.Errorf("state %s: migrate: %w", s.name, err)
	}
	defer l.release()
	p, err := goose.NewProvider(goose.DialectSQLite3, s.w, migrations.SQLite,
		goose.WithTableName(VersionTable),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return fmt.Errorf("state %s: migrate: %w", s.name, err)
	}
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return s.wrap("migrate: read schema version", err)
	}
	if current > target {
		return fmt.Errorf("state %s: schema version %d is newer than this binary's newest migration %d: upgrade syncd: %w",
			s.name, current, target, state.ErrSchemaTooNew)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return s.wrap("migrate", err)
	}
	for _, r := range results {
		s.log.Info("state migration applied", zap.String("path", s.path),
			zap.Int64("version", r.Source.Version), zap.Duration("duration", r.Duration))
	}
	return nil
}

// Ping checks the database file can be read.
func (s *Store) Ping(ctx context.Context) error {
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
		return s.wrap("ping", err)
	}
	return nil
}

// Lock takes job's lock file, <db>.lock-<job>, or returns ErrLocked.
func (s *Store) Lock(ctx context.Context, job string) (func(context.Context) error, error) {
	if job == "" {
		return nil, fmt.Errorf("state %s: lock: empty job name", s.name)
	}
	l, err := lockFile(ctx, s.path+".lock-"+sanitize(job), false)
	if errors.Is(err, errHeld) {
		return nil, fmt.Errorf("state %s: lock job %s: %w", s.name, job, state.ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("state %s: lock job %s: %w", s.name, job, err)
	}
	l.job = job
	s.mu.Lock()
	s.locks[l] = struct{}{}
	s.mu.Unlock()
	s.log.Debug("job lock taken", zap.String("job", job), zap.String("lock_file", l.path))
	return func(context.Context) error { return s.unlock(l) }, nil
}

// unlock releases l once; later calls return nil.
func (s *Store) unlock(l *fileLock) error {
	s.mu.Lock()
	_, held := s.locks[l]
	delete(s.locks, l)
	s.mu.Unlock()
	if !held {
		return nil
	}
	if err := l.release(); err != nil {
		return fmt.Errorf("state %s: unlock job %s: %w", s.name, l.job, err)
	}
	return nil
}

// micros is a nullable INTEGER time: nil for the zero time.
func micros(t time.Time) any {
	if us, ok := batch.Micros(t); ok {
		return us
	}
	return nil
}

// fromMicros reads a nullable INTEGER time.
func fromMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return batch.FromMicros(v.Int64)
}

// blob binds b as a BLOB, or NULL when b is nil (the driver would bind an
// empty blob).
func blob(b []byte) any {
	if b == nil {
		return nil
	}
	return b
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
	err = s.w.QueryRowContext(ctx,
		`INSERT INTO runs (job, mode, started_at, status, counts, error) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		run.Job, run.Mode, micros(run.StartedAt), string(run.Status), counts, run.Error).Scan(&run.ID)
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
	res, err := s.w.ExecContext(ctx,
		`UPDATE runs SET finished_at = ?, status = ?, counts = ?, error = ?, mode = COALESCE(NULLIF(?, ''), mode) WHERE id = ?`,
		micros(run.FinishedAt), string(run.Status), counts, run.Error, run.Mode, run.ID)
	if err != nil {
		return s.wrap(fmt.Sprintf("finish run %d", run.ID), err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("state %s: finish run %d: no such run", s.name, run.ID)
	}
	return nil
}

const (
	runsSQL = `SELECT id, job, mode, started_at, finished_at, status, counts, error FROM runs
	            ORDER BY started_at DESC, id DESC LIMIT ?`
	runsOfJobSQL = `SELECT id, job, mode, started_at, finished_at, status, counts, error FROM runs
	                 WHERE job = ? ORDER BY started_at DESC, id DESC LIMIT ?`
)

// Runs returns up to limit of job's runs ("" = all jobs), newest first;
// limit <= 0 means no limit.
func (s *Store) Runs(ctx context.Context, job string, limit int) ([]state.Run, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	// The WHERE is built, not "? = '' OR job = ?": SQLite plans a
	// statement once, and with an OR on a parameter it cannot use
	// runs_job_started_idx, scanning every job's runs instead.
	q, args := runsSQL, []any{limit}
	if job != "" {
		q, args = runsOfJobSQL, []any{job, limit}
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap("list runs job="+job, err)
	}
	defer rows.Close()
	var runs []state.Run
	for rows.Next() {
		var (
			r                 state.Run
			started, finished sql.NullInt64
			status, counts    string
		)
		if err := rows.Scan(&r.ID, &r.Job, &r.Mode, &started, &finished, &status, &counts, &r.Error); err != nil {
			return nil, s.wrap("list runs job="+job, err)
		}
		r.StartedAt, r.FinishedAt, r.Status = fromMicros(started), fromMicros(finished), state.RunStatus(status)
		if err := json.Unmarshal([]byte(counts), &r.Counts); err != nil {
			return nil, fmt.Errorf("state %s: list runs: run %d counts: %w", s.name, r.ID, err)
		}
		runs = append(runs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("list runs job="+job, err)
	}
	return runs, nil
}

// Checkpoints streams job's checkpoints to fn, one row at a time.
func (s *Store) Checkpoints(ctx context.Context, job string, fn func(state.Checkpoint) error) error {
	return s.checkpoints(ctx, job, fn, checkpointsSQL, job)
}

// checkpointsSQL reads a job's checkpoints; checkpoints scans its columns.
const checkpointsSQL = `SELECT anchor, user_id, username, population_id, enabled, hash, attributes,
        first_seen, last_seen, last_synced, status, last_error, failures,
        attributes IS NOT NULL, disabled_at, deleted_at
   FROM checkpoints WHERE job = ?`

// forBatch is how many anchors one CheckpointsFor query asks for.
const forBatch = 10000

// CheckpointsFor streams job's checkpoints of anchors to fn. The anchors
// go in as one JSON array parameter, forBatch a query.
func (s *Store) CheckpointsFor(ctx context.Context, job string, anchors []string, fn func(state.Checkpoint) error) error {
	for len(anchors) > 0 {
		n := min(len(anchors), forBatch)
		list, err := json.Marshal(anchors[:n])
		if err != nil {
			return fmt.Errorf("state %s: read checkpoints job=%s: %w", s.name, job, err)
		}
		err = s.checkpoints(ctx, job, fn, checkpointsSQL+` AND anchor IN (SELECT value FROM json_each(?))`, job, string(list))
		if err != nil {
			return err
		}
		anchors = anchors[n:]
	}
	return nil
}

func (s *Store) checkpoints(ctx context.Context, job string, fn func(state.Checkpoint) error, query string, args ...any) error {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return s.wrap("read checkpoints job="+job, err)
	}
	defer rows.Close()
	var (
		cp                              state.Checkpoint
		status                          string
		firstSeen, lastSeen, lastSynced sql.NullInt64
		disabledAt, deletedAt           sql.NullInt64
		hasAttributes                   bool
	)
	dest := []any{&cp.Anchor, &cp.UserID, &cp.Username, &cp.PopulationID, &cp.Enabled, &cp.Hash, &cp.Attributes,
		&firstSeen, &lastSeen, &lastSynced, &status, &cp.LastError, &cp.Failures, &hasAttributes, &disabledAt, &deletedAt}
	for rows.Next() {
		cp = state.Checkpoint{}
		if err := rows.Scan(dest...); err != nil {
			return s.wrap("read checkpoints job="+job, err)
		}
		if hasAttributes && cp.Attributes == nil {
			cp.Attributes = []byte{} // the driver reads an empty BLOB as nil
		}
		cp.Status = state.Status(status)
		cp.FirstSeen, cp.LastSeen, cp.LastSynced = fromMicros(firstSeen), fromMicros(lastSeen), fromMicros(lastSynced)
		cp.DisabledAt, cp.DeletedAt = fromMicros(disabledAt), fromMicros(deletedAt)
		if err := fn(cp); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.wrap("read checkpoints job="+job, err)
	}
	return nil
}

// upsertSQL returns the multi-row upsert for n checkpoints. first_seen keeps
// the stored value when there is one.
func upsertSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO checkpoints (job, anchor, user_id, username, population_id, enabled, hash, attributes,
		first_seen, last_seen, last_synced, status, last_error, failures, disabled_at, deleted_at) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
	}
	b.WriteString(` ON CONFLICT (job, anchor) DO UPDATE SET
		user_id = excluded.user_id, username = excluded.username, population_id = excluded.population_id,
		enabled = excluded.enabled, hash = excluded.hash, attributes = excluded.attributes,
		first_seen = COALESCE(checkpoints.first_seen, excluded.first_seen),
		last_seen = excluded.last_seen, last_synced = excluded.last_synced, status = excluded.status,
		last_error = excluded.last_error, failures = excluded.failures,
		disabled_at = excluded.disabled_at, deleted_at = excluded.deleted_at`)
	return b.String()
}

// SaveCheckpoints upserts cps for job in one transaction, up to 500 rows per
// statement. When an anchor repeats in cps, its last occurrence wins.
func (s *Store) SaveCheckpoints(ctx context.Context, job string, cps []state.Checkpoint) error {
	cps, err := batch.Prepare(cps)
	if err != nil {
		return fmt.Errorf("state %s: save checkpoints job=%s: %w", s.name, job, err)
	}
	if len(cps) == 0 {
		return nil
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error { return upsertCheckpoints(ctx, tx, job, cps) })
	if err != nil {
		return s.wrap(fmt.Sprintf("save %d checkpoints job=%s (nothing written)", len(cps), job), err)
	}
	return nil
}

// upsertCheckpoints writes prepared cps in tx, up to chunkRows per statement.
func upsertCheckpoints(ctx context.Context, tx *sql.Tx, job string, cps []state.Checkpoint) error {
	var full *sql.Stmt
	if len(cps) >= chunkRows {
		stmt, err := tx.PrepareContext(ctx, upsertSQL(chunkRows))
		if err != nil {
			return err
		}
		defer stmt.Close()
		full = stmt
	}
	args := make([]any, 0, 16*min(len(cps), chunkRows))
	for start := 0; start < len(cps); start += chunkRows {
		chunk := cps[start:min(start+chunkRows, len(cps))]
		args = args[:0]
		for _, cp := range chunk {
			args = append(args, job, cp.Anchor, cp.UserID, cp.Username, cp.PopulationID, cp.Enabled, cp.Hash,
				blob(cp.Attributes), micros(cp.FirstSeen), micros(cp.LastSeen), micros(cp.LastSynced),
				string(cp.Status), cp.LastError, cp.Failures, micros(cp.DisabledAt), micros(cp.DeletedAt))
		}
		var err error
		if len(chunk) == chunkRows {
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, upsertSQL(len(chunk)), args...)
		}
		if err != nil {
			return fmt.Errorf("rows %d-%d: %w", start, start+len(chunk)-1, err)
		}
	}
	return nil
}

// inTx runs fn in a write transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	return tx.Commit()
}

// ignoreDone drops the error of rolling back a transaction the driver
// already ended (on context cancellation).
func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// DeleteCheckpoints removes job's checkpoints for anchors in one statement.
func (s *Store) DeleteCheckpoints(ctx context.Context, job string, anchors []string) error {
	if len(anchors) == 0 {
		return nil
	}
	list, err := json.Marshal(batch.Dedupe(anchors))
	if err != nil {
		return fmt.Errorf("state %s: delete checkpoints job=%s: %w", s.name, job, err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`DELETE FROM checkpoints WHERE job = ? AND anchor IN (SELECT value FROM json_each(?))`, job, string(list))
		return err
	})
	if err != nil {
		return s.wrap(fmt.Sprintf("delete %d checkpoints job=%s (nothing deleted)", len(anchors), job), err)
	}
	return nil
}

// CountByStatus counts job's checkpoints per status.
func (s *Store) CountByStatus(ctx context.Context, job string) (map[state.Status]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT status, count(*) FROM checkpoints WHERE job = ? GROUP BY status`, job)
	if err != nil {
		return nil, s.wrap("count checkpoints job="+job, err)
	}
	defer rows.Close()
	out := map[state.Status]int{}
	for rows.Next() {
		var (
			status string
			n      int
		)
		if err := rows.Scan(&status, &n); err != nil {
			return nil, s.wrap("count checkpoints job="+job, err)
		}
		out[state.Status(status)] = n
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
		last sql.NullInt64
	)
	err := s.r.QueryRowContext(ctx, `SELECT value, last_full_read FROM cursors WHERE job = ?`, job).Scan(&c.Value, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return state.Cursor{}, nil
	}
	if err != nil {
		return state.Cursor{}, s.wrap("read cursor job="+job, err)
	}
	c.LastFullRead = fromMicros(last)
	return c, nil
}

// SetCursor saves job's cursor.
func (s *Store) SetCursor(ctx context.Context, job string, c state.Cursor) error {
	_, err := s.w.ExecContext(ctx,
		`INSERT INTO cursors (job, value, last_full_read, updated_at) VALUES (?, ?, ?, ?)
		 ON CONFLICT (job) DO UPDATE SET value = excluded.value, last_full_read = excluded.last_full_read, updated_at = excluded.updated_at`,
		job, blob(c.Value), micros(c.LastFullRead), time.Now().UnixMicro())
	if err != nil {
		return s.wrap("save cursor job="+job, err)
	}
	return nil
}

// Close releases any job locks still held, then the database.
func (s *Store) Close() error {
	s.mu.Lock()
	held := make([]*fileLock, 0, len(s.locks))
	for l := range s.locks {
		held = append(held, l)
	}
	s.mu.Unlock()
	var errs []error
	for _, l := range held {
		errs = append(errs, s.unlock(l))
	}
	if err := s.closeDBs(); err != nil && !errors.Is(err, fs.ErrClosed) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
