/* sqlite.c — the embedded store: one SQLite database in WAL mode holding a revision log.
 *
 * Table `log` has one row per write (rev, key, type, value); the live state of a key is its
 * newest row unless that row is a deletion. Commits are one transaction with
 * synchronous=FULL, so a commit that returned survives kill -9 and power loss. Compaction
 * deletes rows that are superseded and older than the compaction revision, then gives the
 * pages back (incremental vacuum), so churn does not grow the file without bound.
 * Not for: deciding revisions or conflicts (the cache does that on the loop thread).
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "store/store.h"

typedef struct sqlite_store {
	store base;
	sqlite3 *db;
	sqlite3_stmt *ins;
	int64_t head;
	int64_t compacted;
} sqlite_store;

static int db_err(sqlite_store *s, terr **err, const char *what)
{
	return terr_internal(err, "store: %s: %s", what, sqlite3_errmsg(s->db));
}

static int exec(sqlite_store *s, const char *sql, terr **err)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		terr_internal(err, "store: %s: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int64_t meta_get(sqlite_store *s, const char *name)
{
	sqlite3_stmt *st;
	int64_t v = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE name = ?", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int meta_set(sqlite_store *s, const char *name, int64_t v, terr **err)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta(name, value) VALUES (?, ?)", -1, &st,
	                       NULL) != SQLITE_OK)
		return db_err(s, err, "prepare meta");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_err(s, err, "write meta");
}

static int rows_each(sqlite_store *s, sqlite3_stmt *st, store_row_cb cb, void *ud, terr **err)
{
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_row r = {
			.rev = sqlite3_column_int64(st, 0),
			.key = (const char *)sqlite3_column_text(st, 1),
			.type = sqlite3_column_int(st, 2),
			.value = sqlite3_column_blob(st, 3),
			.len = (size_t)sqlite3_column_bytes(st, 3),
		};
		if (cb(&r, ud) < 0) {
			sqlite3_finalize(st);
			return terr_internal(err, "store: load aborted at %s", r.key);
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_err(s, err, "read");
}

static int sq_current(store *base, store_row_cb cb, void *ud, terr **err)
{
	sqlite_store *s = (sqlite_store *)base;
	sqlite3_stmt *st;
	const char *sql = "SELECT l.rev, l.key, l.type, l.value FROM log l "
	                  "JOIN (SELECT key, MAX(rev) AS r FROM log GROUP BY key) m "
	                  "ON l.key = m.key AND l.rev = m.r WHERE l.type != 3 ORDER BY l.key";
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_err(s, err, "prepare current");
	return rows_each(s, st, cb, ud, err);
}

static int sq_history(store *base, int64_t after, store_row_cb cb, void *ud, terr **err)
{
	sqlite_store *s = (sqlite_store *)base;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT rev, key, type, value FROM log WHERE rev > ? ORDER BY rev",
	                       -1, &st, NULL) != SQLITE_OK)
		return db_err(s, err, "prepare history");
	sqlite3_bind_int64(st, 1, after);
	return rows_each(s, st, cb, ud, err);
}

static int sq_commit(store *base, const store_row *rows, size_t n, terr **err)
{
	sqlite_store *s = (sqlite_store *)base;
	if (exec(s, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(s->ins);
		sqlite3_bind_int64(s->ins, 1, rows[i].rev);
		sqlite3_bind_text(s->ins, 2, rows[i].key, -1, SQLITE_STATIC);
		sqlite3_bind_int(s->ins, 3, rows[i].type);
		sqlite3_bind_blob(s->ins, 4, rows[i].value, (int)rows[i].len, SQLITE_STATIC);
		if (sqlite3_step(s->ins) != SQLITE_DONE) {
			db_err(s, err, "insert");
			sqlite3_reset(s->ins);
			exec(s, "ROLLBACK", NULL);
			return -1;
		}
		if (rows[i].rev > s->head)
			s->head = rows[i].rev;
	}
	sqlite3_reset(s->ins);
	sqlite3_clear_bindings(s->ins);
	return exec(s, "COMMIT", err);
}

static int sq_compact(store *base, int64_t rev, terr **err)
{
	sqlite_store *s = (sqlite_store *)base;
	if (rev <= s->compacted)
		return 0;
	if (exec(s, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	sqlite3_stmt *st;
	/* k8s: compaction keeps the newest revision of every live key; superseded revisions
	 * and deletions older than the compaction revision are dropped. */
	const char *sql = "DELETE FROM log WHERE rev < ?1 AND (type = 3 OR EXISTS "
	                  "(SELECT 1 FROM log n WHERE n.key = log.key AND n.rev > log.rev AND n.rev <= ?1))";
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		exec(s, "ROLLBACK", NULL);
		return db_err(s, err, "prepare compact");
	}
	sqlite3_bind_int64(st, 1, rev);
	int rc = sqlite3_step(st);
	int deleted = sqlite3_changes(s->db);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		exec(s, "ROLLBACK", NULL);
		return db_err(s, err, "compact");
	}
	if (meta_set(s, "compacted", rev, err) < 0 || meta_set(s, "head", s->head, err) < 0) {
		exec(s, "ROLLBACK", NULL);
		return -1;
	}
	if (exec(s, "COMMIT", err) < 0)
		return -1;
	s->compacted = rev;
	if (deleted > 0) {
		exec(s, "PRAGMA incremental_vacuum", NULL);
		exec(s, "PRAGMA wal_checkpoint(TRUNCATE)", NULL);
	}
	log_debug("store: compacted below %lld (%d rows)", (long long)rev, deleted);
	return 0;
}

static int64_t sq_head(store *base)
{
	return ((sqlite_store *)base)->head;
}

static int64_t sq_compacted(store *base)
{
	return ((sqlite_store *)base)->compacted;
}

static void sq_close(store *base)
{
	sqlite_store *s = (sqlite_store *)base;
	sqlite3_finalize(s->ins);
	sqlite3_close(s->db);
	free(s);
}

static const store_ops sqlite_ops = {
	.current = sq_current,
	.history = sq_history,
	.commit = sq_commit,
	.compact = sq_compact,
	.head_rev = sq_head,
	.compact_rev = sq_compacted,
	.close = sq_close,
};

store *store_sqlite_open(const char *path, terr **err)
{
	sqlite_store *s = xcalloc(1, sizeof *s);
	s->base.ops = &sqlite_ops;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
	                    NULL) != SQLITE_OK) {
		terr_internal(err, "store: open %s: %s", path, sqlite3_errmsg(s->db));
		sqlite3_close(s->db);
		free(s);
		return NULL;
	}
	sqlite3_busy_timeout(s->db, 5000);
	/* auto_vacuum must be chosen before the first table exists. */
	if (exec(s, "PRAGMA auto_vacuum = INCREMENTAL", err) < 0 ||
	    exec(s, "PRAGMA journal_mode = WAL", err) < 0 ||
	    exec(s, "PRAGMA synchronous = FULL", err) < 0 ||
	    exec(s, "CREATE TABLE IF NOT EXISTS log (rev INTEGER PRIMARY KEY, key TEXT NOT NULL, "
	            "type INTEGER NOT NULL, value BLOB)", err) < 0 ||
	    exec(s, "CREATE INDEX IF NOT EXISTS log_key ON log (key, rev)", err) < 0 ||
	    exec(s, "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER)", err) < 0) {
		sq_close(&s->base);
		return NULL;
	}
	if (sqlite3_prepare_v2(s->db, "INSERT INTO log (rev, key, type, value) VALUES (?, ?, ?, ?)", -1,
	                       &s->ins, NULL) != SQLITE_OK) {
		db_err(s, err, "prepare insert");
		sq_close(&s->base);
		return NULL;
	}
	s->compacted = meta_get(s, "compacted");
	s->head = meta_get(s, "head");
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT MAX(rev) FROM log", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > s->head)
			s->head = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	return &s->base;
}
