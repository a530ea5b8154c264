/* test_store.c — the SQLite revision log and the watch cache on top of it: commits,
 * current state, history, compaction (bounded growth under churn), group commit and
 * watch resume / 410 Gone. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "store/cache.h"
#include "store/store.h"
#include "test.h"

static char *tmpdb(void)
{
	char tmpl[] = "/tmp/timon-store.XXXXXX";
	char *dir = mkdtemp(tmpl);
	char *p = malloc(strlen(dir) + 16);
	strcpy(p, dir);
	strcat(p, "/state.db");
	return p;
}

static void rmdb(char *path)
{
	char *dir = strdup(path);
	*strrchr(dir, '/') = 0;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
	free(dir);
	free(path);
}

static int count_rows(const store_row *r, void *ud)
{
	(void)r;
	(*(int *)ud)++;
	return 0;
}

typedef struct seen {
	char keys[64][64];
	int revs[64];
	int n;
} seen;

static int collect(const store_row *r, void *ud)
{
	seen *s = ud;
	if (s->n < 64) {
		snprintf(s->keys[s->n], 64, "%s", r->key);
		s->revs[s->n] = (int)r->rev;
		s->n++;
	}
	return 0;
}

TEST(sqlite_commit_current_history)
{
	char *path = tmpdb();
	terr *err = NULL;
	store *st = store_sqlite_open(path, &err);
	REQUIRE(st);
	store_row rows[] = {
		{.rev = 1, .key = "/registry/pods/default/a", .value = "{\"a\":1}", .len = 7, .type = STORE_ADDED},
		{.rev = 2, .key = "/registry/pods/default/b", .value = "{\"b\":1}", .len = 7, .type = STORE_ADDED},
		{.rev = 3, .key = "/registry/pods/default/a", .value = "{\"a\":2}", .len = 7, .type = STORE_MODIFIED},
		{.rev = 4, .key = "/registry/pods/default/b", .value = "{\"b\":1}", .len = 7, .type = STORE_DELETED},
	};
	CHECK_INT(st->ops->commit(st, rows, 4, &err), 0);
	CHECK_INT(st->ops->head_rev(st), 4);
	seen cur = {0};
	st->ops->current(st, collect, &cur, &err);
	/* b is deleted; a's newest revision is 3 */
	CHECK_INT(cur.n, 1);
	CHECK_STR(cur.keys[0], "/registry/pods/default/a");
	CHECK_INT(cur.revs[0], 3);
	seen hist = {0};
	st->ops->history(st, 1, collect, &hist, &err);
	CHECK_INT(hist.n, 3);
	CHECK_INT(hist.revs[0], 2);
	st->ops->close(st);
	/* Reopening keeps everything, including the head revision. */
	st = store_sqlite_open(path, &err);
	REQUIRE(st);
	CHECK_INT(st->ops->head_rev(st), 4);
	st->ops->close(st);
	rmdb(path);
}

TEST(sqlite_compaction_bounds_growth)
{
	char *path = tmpdb();
	terr *err = NULL;
	store *st = store_sqlite_open(path, &err);
	REQUIRE(st);
	/* 20,000 updates of 10 keys: churn. */
	char val[512];
	memset(val, 'x', sizeof val - 1);
	val[sizeof val - 1] = 0;
	int64_t rev = 0;
	for (int batch = 0; batch < 200; batch++) {
		store_row rows[100];
		char keys[100][64];
		for (int i = 0; i < 100; i++) {
			snprintf(keys[i], 64, "/registry/configmaps/default/k%d", i % 10);
			rows[i] = (store_row){.rev = ++rev, .key = keys[i], .value = val,
			                      .len = strlen(val), .type = rev <= 10 ? STORE_ADDED : STORE_MODIFIED};
		}
		REQUIRE(st->ops->commit(st, rows, 100, &err) == 0);
	}
	int before = 0;
	st->ops->history(st, 0, count_rows, &before, &err);
	CHECK_INT(before, 20000);
	CHECK_INT(st->ops->compact(st, rev - 100, &err), 0);
	int after = 0;
	st->ops->history(st, 0, count_rows, &after, &err);
	/* Compaction at R keeps everything from R on and, below R, each live key's newest
	 * row: every key was written again after R, so only rows R..R+100 stay. */
	CHECK_INT(after, 101);
	CHECK_INT(st->ops->compact_rev(st), rev - 100);
	int live = 0;
	st->ops->current(st, count_rows, &live, &err);
	CHECK_INT(live, 10);
	st->ops->close(st);
	struct stat sb;
	REQUIRE(stat(path, &sb) == 0);
	/* 20,000 rows of 512 bytes would be ~10 MB; compaction gave the pages back. */
	CHECK(sb.st_size < 2 * 1024 * 1024);
	rmdb(path);
}

/* Compaction keeps below R exactly each live key's newest row, whatever the order of the
 * writes: deleted keys leave nothing, re-created keys keep their newest life, and a
 * reopened store (which reads the newest rows back from the log) compacts the same way. */
TEST(sqlite_compaction_keeps_newest_live_rows)
{
	char *path = tmpdb();
	terr *err = NULL;
	store *st = store_sqlite_open(path, &err);
	REQUIRE(st);
	enum { KEYS = 40, WRITES = 3000 };
	int newest[KEYS] = {0}; /* rev of each key's newest row, 0 when deleted or never */
	char keys[KEYS][64];
	for (int k = 0; k < KEYS; k++)
		snprintf(keys[k], 64, "/registry/configmaps/ns/k%02d", k);
	srand(7);
	int64_t rev = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (int w = 0; w < WRITES / 2; w += 10) {
			store_row rows[10];
			for (int i = 0; i < 10; i++) {
				int k = rand() % KEYS;
				int type = !newest[k] ? STORE_ADDED : rand() % 5 == 0 ? STORE_DELETED : STORE_MODIFIED;
				rows[i] = (store_row){.rev = ++rev, .key = keys[k], .value = "{}", .len = 2, .type = type};
				newest[k] = type == STORE_DELETED ? 0 : (int)rev;
			}
			REQUIRE(st->ops->commit(st, rows, 10, &err) == 0);
		}
		int64_t at = rev - 50;
		REQUIRE(st->ops->compact(st, at, &err) == 0);
		/* Every row left: from `at` on, or some live key's newest. */
		int n = 0;
		st->ops->history(st, 0, count_rows, &n, &err);
		int want = (int)(rev - at + 1);
		for (int k = 0; k < KEYS; k++)
			want += newest[k] && newest[k] < at;
		CHECK_INT(n, want);
		seen cur = {0};
		st->ops->current(st, collect, &cur, &err);
		int live = 0;
		for (int k = 0; k < KEYS; k++)
			live += newest[k] != 0;
		CHECK_INT(cur.n, live);
		for (int i = 0; i < cur.n; i++) {
			int k = atoi(strrchr(cur.keys[i], 'k') + 1);
			CHECK_INT(cur.revs[i], newest[k]);
			if (i > 0)
				CHECK(strcmp(cur.keys[i - 1], cur.keys[i]) < 0);
		}
		/* The second pass runs on the store reopened from disk. */
		st->ops->close(st);
		st = store_sqlite_open(path, &err);
		REQUIRE(st);
	}
	st->ops->close(st);
	rmdb(path);
}

typedef struct acks {
	int n;
	int64_t last;
} acks;

static void on_ack(void *ud, int64_t rev, const terr *err)
{
	acks *a = ud;
	if (!err) {
		a->n++;
		a->last = rev;
	}
}

typedef struct events {
	int n;
	int64_t revs[64];
	int types[64];
} events;

static void on_event(void *ud, const cache_event *ev)
{
	events *e = ud;
	if (e->n < 64) {
		e->revs[e->n] = ev->rev;
		e->types[e->n] = ev->type;
	}
	e->n++;
}

/* Closes c (and the store it owns) and its loop. */
static void shut_cache(cache *c, uv_loop_t *loop)
{
	cache_close(c);
	uv_run(loop, UV_RUN_NOWAIT);
	uv_loop_close(loop);
	cache_free(c);
}

/* A cache over st (taken) on a new loop, keeping trees_max trees (0: the default), loaded;
 * NULL when the load fails. */
static cache *open_cache(uv_loop_t *loop, store *st, size_t trees_max)
{
	uv_loop_init(loop);
	cache *c = cache_new(loop, st);
	cache_set_limits(c, 0, 0, trees_max);
	terr *err = NULL;
	if (cache_load(c, &err) < 0) {
		terr_free(err);
		shut_cache(c, loop);
		return NULL;
	}
	return c;
}

/* shut_cache, then removes the database at path (freed). */
static void close_cache(cache *c, uv_loop_t *loop, char *path)
{
	shut_cache(c, loop);
	rmdb(path);
}

TEST(cache_group_commit_and_watch_resume)
{
	char *path = tmpdb();
	terr *err = NULL;
	store *st = store_sqlite_open(path, &err);
	REQUIRE(st);
	uv_loop_t loop;
	cache *c = open_cache(&loop, st, 0);
	REQUIRE(c);
	acks a = {0};
	events live = {0};
	cache_watcher *w = cache_watch(c, "/registry/pods/", 0, on_event, &live, &err);
	REQUIRE(w);
	/* Three writes in one loop iteration: one transaction, acknowledged after it. */
	cache_write(c, 1, "/registry/pods/ns/a", STORE_ADDED, "{}", 2, NULL, NULL, on_ack, &a);
	cache_write(c, 2, "/registry/pods/ns/b", STORE_ADDED, "{}", 2, NULL, NULL, on_ack, &a);
	cache_write(c, 3, "/registry/pods/ns/a", STORE_DELETED, "{}", 2, NULL, NULL, on_ack, &a);
	/* Memory reflects writes at once; acknowledgements and events wait for the commit. */
	CHECK(cache_get(c, "/registry/pods/ns/b") != NULL);
	CHECK(cache_get(c, "/registry/pods/ns/a") == NULL);
	CHECK_INT(a.n, 0);
	CHECK_INT(live.n, 0);
	for (int i = 0; i < 100 && a.n < 3; i++)
		uv_run(&loop, UV_RUN_ONCE);
	CHECK_INT(a.n, 3);
	CHECK_INT(live.n, 3);
	CHECK_INT(live.types[2], STORE_DELETED);
	/* A watch resuming from revision 1 replays 2 and 3 only. */
	events resumed = {0};
	cache_watcher *w2 = cache_watch(c, "/registry/pods/", 1, on_event, &resumed, &err);
	REQUIRE(w2);
	CHECK_INT(resumed.n, 2);
	CHECK_INT(resumed.revs[0], 2);
	cache_unwatch(c, w);
	cache_unwatch(c, w2);
	close_cache(c, &loop, path);
}

/* A reader's kept parse of an entry (an event's tree) stands in for the cache's own once
 * the cache let that go, but only while the entry is still at the reader's revision. */
TEST(cache_get_obj_at_keeps_a_readers_tree)
{
	char *path = tmpdb();
	terr *err = NULL;
	store *st = store_sqlite_open(path, &err);
	REQUIRE(st);
	uv_loop_t loop;
	cache *c = open_cache(&loop, st, 1); /* one kept tree */
	REQUIRE(c);
	acks a = {0};
	json_t *ta = json_pack("{s:i}", "a", 1), *tb = json_pack("{s:i}", "b", 1);
	cache_write(c, 1, "/registry/pods/ns/a", STORE_ADDED, "{\"a\":1}", 7, NULL, ta, on_ack, &a);
	cache_write(c, 2, "/registry/pods/ns/b", STORE_ADDED, "{\"b\":1}", 7, NULL, tb, on_ack, &a);
	/* b's tree pushed a's out: a plain read parses again */
	json_t *parsed = cache_get_obj(c, "/registry/pods/ns/a");
	CHECK(parsed != NULL && parsed != ta);
	json_decref(parsed);
	/* b is kept now, a's parse went: a's own tree at its revision is taken back */
	json_t *got = cache_get_obj(c, "/registry/pods/ns/b");
	json_decref(got);
	got = cache_get_obj_at(c, "/registry/pods/ns/a", 1, json_incref(ta));
	CHECK(got == ta);
	json_decref(got);
	/* a newer value: the old tree is not used */
	cache_write(c, 3, "/registry/pods/ns/a", STORE_MODIFIED, "{\"a\":2}", 7, NULL, NULL, on_ack, &a);
	json_t *kept = cache_get_obj(c, "/registry/pods/ns/b"); /* a's tree out again */
	json_decref(kept);
	got = cache_get_obj_at(c, "/registry/pods/ns/a", 1, json_incref(ta));
	CHECK(got != ta);
	CHECK_INT(json_integer_value(json_object_get(got, "a")), 2);
	json_decref(got);
	CHECK(cache_get_obj_at(c, "/registry/pods/ns/none", 1, json_incref(ta)) == NULL);
	json_decref(ta);
	json_decref(tb);
	for (int i = 0; i < 100 && a.n < 3; i++)
		uv_run(&loop, UV_RUN_ONCE);
	CHECK_INT(a.n, 3);
	close_cache(c, &loop, path);
}

TEST(cache_watch_before_history_is_gone)
{
	char *path = tmpdb();
	terr *err = NULL;
	store *st = store_sqlite_open(path, &err);
	REQUIRE(st);
	/* A store compacted at revision 50 cannot serve a watch from revision 10. */
	store_row r = {.rev = 60, .key = "/registry/pods/ns/x", .value = "{}", .len = 2, .type = STORE_ADDED};
	REQUIRE(st->ops->commit(st, &r, 1, &err) == 0);
	REQUIRE(st->ops->compact(st, 50, &err) == 0);
	uv_loop_t loop;
	cache *c = open_cache(&loop, st, 0);
	REQUIRE(c);
	events e = {0};
	cache_watcher *w = cache_watch(c, "/registry/pods/", 10, on_event, &e, &err);
	CHECK(w == NULL);
	REQUIRE(err);
	CHECK_INT(err->code, 410);
	CHECK_STR(err->reason, "Expired");
	terr_free(err);
	err = NULL;
	cache_watcher *ok = cache_watch(c, "/registry/pods/", 50, on_event, &e, &err);
	CHECK(ok != NULL);
	CHECK_INT(e.n, 1);
	cache_unwatch(c, ok);
	close_cache(c, &loop, path);
}
