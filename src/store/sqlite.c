/* sqlite.c — the embedded store: one SQLite database in WAL mode holding a revision log.
 *
 * Table `log` has one row per write (rev, key, type, value), keyed by rev alone: a write
 * appends to the end of one B-tree. The live state of a key is its newest row unless that
 * row is a deletion. Commits are one transaction with synchronous=FULL, so a commit that
 * returned survives kill -9 and power loss. Which row is each live key's newest is kept in
 * memory (`latest`, read from the log at open); compaction deletes every row below the
 * compaction revision but those, then gives the pages back (incremental vacuum), so churn
 * does not grow the file without bound. An index on key, which compaction once used, made
 * every write also change a page at a random place in a second B-tree: half the CPU and
 * half the disk writes of a commit (docs/decisions/0012-store-log-by-revision.md).
 * Not for: deciding revisions or conflicts (the cache does that on the loop thread).
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "base/hmap.h"
#include "base/log.h"
#include "base/util.h"
#include "store/store.h"

/* A live key's newest row. */
typedef struct latest_row {
	int64_t rev;
	char key[];
} latest_row;

typedef struct sqlite_store {
	store base;
	sqlite3 *db;
	sqlite3_stmt *ins;
	int64_t head;
	int64_t compacted;
	hmap latest; /* key -> latest_row, for every live key */
} sqlite_store;

static void latest_set(sqlite_store *s, const char *key, int64_t rev, int type)
{
	latest_row *r = hmap_get(&s->latest, key);
	if (type == STORE_DELETED) {
		if (r && r->rev < rev) {
			hmap_del(&s->latest, key);
			free(r);
		}
		return;
	}
	if (r) {
		if (rev > r->rev)
			r->rev = rev;
		return;
	}
	size_t n = strlen(key) + 1;
	r = xmalloc(sizeof *r + n);
	r->rev = rev;
	memcpy(r->key, key, n);
	hmap_put(&s->latest, r->key, r);
}

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

/* The row a statement selecting (rev, key, type, value) is on. */
static store_row row_at(sqlite3_stmt *st)
{
	return (store_row){
	    .rev = sqlite3_column_int64(st, 0),
	    .key = (const char *)sqlite3_column_text(st, 1),
	    .type = sqlite3_column_int(st, 2),
	    .value = sqlite3_column_blob(st, 3),
	    .len = (size_t)sqlite3_column_bytes(st, 3),
	};
}

static int rows_each(sqlite_store *s, sqlite3_stmt *st, store_row_cb cb, void *ud, terr **err)
{
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_row r = row_at(st);
		if (cb(&r, ud) < 0) {
			sqlite3_finalize(st);
			return terr_internal(err, "store: load aborted at %s", r.key);
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_err(s, err, "read");
}

static int cmp_latest(const void *a, const void *b)
{
	return strcmp((*(const latest_row *const *)a)->key, (*(const latest_row *const *)b)->key);
}

static int sq_current(store *base, store_row_cb cb, void *ud, terr **err)
{
	sqlite_store *s = (sqlite_store *)base;
	const latest_row **rows = xcalloc(s->latest.count + 1, sizeof *rows);
	size_t n = 0, it = 0;
	void *v;
	while (hmap_next(&s->latest, &it, NULL, &v))
		rows[n++] = v;
	qsort(rows, n, sizeof *rows, cmp_latest);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT rev, key, type, value FROM log WHERE rev = ?", -1, &st,
	                       NULL) != SQLITE_OK) {
		free(rows);
		return db_err(s, err, "prepare current");
	}
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		sqlite3_bind_int64(st, 1, rows[i]->rev);
		if (sqlite3_step(st) != SQLITE_ROW) {
			rc = terr_internal(err, "store: the newest row of %s (%lld) is missing",
			                   rows[i]->key, (long long)rows[i]->rev);
			break;
		}
		store_row r = row_at(st);
		if (cb(&r, ud) < 0)
			rc = terr_internal(err, "store: load aborted at %s", r.key);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	free(rows);
	return rc;
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
	}
	sqlite3_reset(s->ins);
	sqlite3_clear_bindings(s->ins);
	if (exec(s, "COMMIT", err) < 0) {
		exec(s, "ROLLBACK", NULL);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (rows[i].rev > s->head)
			s->head = rows[i].rev;
		latest_set(s, rows[i].key, rows[i].rev, rows[i].type);
	}
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Deletes every row below rev except the live keys' newest: the gaps between those rows,
 * each a range of the log's own B-tree. Returns the rows deleted, or -1. */
static int delete_below(sqlite_store *s, int64_t rev, terr **err)
{
	int64_t *keep = xcalloc(s->latest.count + 1, sizeof *keep);
	size_t n = 0, it = 0;
	void *v;
	while (hmap_next(&s->latest, &it, NULL, &v)) {
		const latest_row *r = v;
		if (r->rev < rev)
			keep[n++] = r->rev;
	}
	qsort(keep, n, sizeof *keep, cmp_i64);
	keep[n] = rev; /* the last gap ends at rev */
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "DELETE FROM log WHERE rev > ? AND rev < ?", -1, &st, NULL) !=
	    SQLITE_OK) {
		free(keep);
		return db_err(s, err, "prepare compact");
	}
	int deleted = 0;
	int64_t after = 0;
	for (size_t i = 0; i <= n; i++) {
		if (keep[i] > after + 1) {
			sqlite3_bind_int64(st, 1, after);
			sqlite3_bind_int64(st, 2, keep[i]);
			if (sqlite3_step(st) != SQLITE_DONE) {
				sqlite3_finalize(st);
				free(keep);
				return db_err(s, err, "compact");
			}
			deleted += sqlite3_changes(s->db);
			sqlite3_reset(st);
		}
		after = keep[i];
	}
	sqlite3_finalize(st);
	free(keep);
	return deleted;
}

static int sq_compact(store *base, int64_t rev, terr **err)
{
	sqlite_store *s = (sqlite_store *)base;
	if (rev <= s->compacted)
		return 0;
	if (exec(s, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	/* Below rev only each live key's newest row is kept: what a restart loads. History
	 * below rev is gone; whatever a key held at rev itself is not kept when the key was
	 * written again since (nothing reads the store at a past revision). */
	int deleted = delete_below(s, rev, err);
	if (deleted < 0) {
		exec(s, "ROLLBACK", NULL);
		return -1;
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
	size_t it = 0;
	void *v;
	while (hmap_next(&s->latest, &it, NULL, &v))
		free(v);
	hmap_free(&s->latest);
	free(s);
}

/* Every live key's newest row, from the log. */
static int load_latest(sqlite_store *s, terr **err)
{
	sqlite3_stmt *st;
	/* SQLite: with MAX(), the bare column comes from the row that has the maximum. */
	if (sqlite3_prepare_v2(s->db, "SELECT key, MAX(rev), type FROM log GROUP BY key", -1, &st,
	                       NULL) != SQLITE_OK)
		return db_err(s, err, "prepare latest");
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		latest_set(s, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1),
		           sqlite3_column_int(st, 2));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_err(s, err, "read latest");
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
	/* auto_vacuum and the page size must be chosen before the first table exists. Pages of
	 * 16 KiB hold most objects in one page without overflow chains, and a commit writes
	 * fewer, fuller pages: ~30% less CPU per row than 4 KiB (bench of the store alone). */
	if (exec(s, "PRAGMA page_size = 16384", err) < 0 ||
	    exec(s, "PRAGMA auto_vacuum = INCREMENTAL", err) < 0 ||
	    exec(s, "PRAGMA journal_mode = WAL", err) < 0 ||
	    exec(s, "PRAGMA synchronous = FULL", err) < 0 ||
	    exec(s, "CREATE TABLE IF NOT EXISTS log (rev INTEGER PRIMARY KEY, key TEXT NOT NULL, "
	            "type INTEGER NOT NULL, value BLOB)", err) < 0 ||
	    exec(s, "DROP INDEX IF EXISTS log_key", err) < 0 || /* stores made before 0012 */
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
	if (load_latest(s, err) < 0) {
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
