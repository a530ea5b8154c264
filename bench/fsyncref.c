/* fsyncref.c — reference for durable create/s: how many individually-durable writes per
 * second this disk allows when every write waits for its own fsync.
 *
 * Two loops, each one writer, one write at a time, bounded in time and count:
 *  - sqlite: the same database setup as timon's store (WAL, synchronous=FULL, the `log`
 *    table and its index), one INSERT per transaction, so one fsync per write;
 *  - file: append the same bytes to a plain file, then fdatasync.
 * timon's create/s divided by these numbers is what group commit buys.
 * Not for: measuring timon itself (bench/apiserver.sh does that).
 *
 * Usage: fsyncref DIR SECONDS BYTES   (prints one "FSYNCREF ..." line per loop)
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_WRITES 200000

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static void report(const char *what, double *lat, size_t n, double elapsed)
{
	qsort(lat, n, sizeof *lat, cmp_double);
	printf("FSYNCREF kind=%s writes=%zu seconds=%.3f per_s=%.1f p50_ms=%.3f p99_ms=%.3f\n", what, n,
	       elapsed, elapsed > 0 ? (double)n / elapsed : 0, pct(lat, n, 50) * 1e3, pct(lat, n, 99) * 1e3);
	fflush(stdout);
}

static int run_sqlite(const char *dir, double seconds, const char *value, size_t vlen, double *lat)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/fsyncref.db", dir);
	sqlite3 *db = NULL;
	if (sqlite3_open(path, &db) != SQLITE_OK) {
		fprintf(stderr, "fsyncref: open %s: %s\n", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	const char *setup = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
	                    "CREATE TABLE IF NOT EXISTS log (rev INTEGER PRIMARY KEY, key TEXT NOT NULL,"
	                    " type INTEGER NOT NULL, value BLOB);"
	                    "CREATE INDEX IF NOT EXISTS log_key ON log (key, rev);";
	sqlite3_stmt *ins = NULL;
	if (sqlite3_exec(db, setup, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO log (rev, key, type, value) VALUES (?, ?, 0, ?)", -1, &ins,
	                       NULL) != SQLITE_OK) {
		fprintf(stderr, "fsyncref: sqlite setup: %s\n", sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	size_t n = 0;
	double start = now_s(), end = start + seconds;
	while (n < MAX_WRITES) {
		double t0 = now_s();
		if (t0 >= end)
			break;
		char key[64];
		snprintf(key, sizeof key, "/registry/configmaps/bench/ref-%zu", n);
		sqlite3_bind_int64(ins, 1, (sqlite3_int64)n + 1);
		sqlite3_bind_text(ins, 2, key, -1, SQLITE_TRANSIENT);
		sqlite3_bind_blob(ins, 3, value, (int)vlen, SQLITE_STATIC);
		/* autocommit: each INSERT is its own transaction, durable when step returns */
		if (sqlite3_step(ins) != SQLITE_DONE) {
			fprintf(stderr, "fsyncref: insert: %s\n", sqlite3_errmsg(db));
			break;
		}
		sqlite3_reset(ins);
		lat[n++] = now_s() - t0;
	}
	double elapsed = now_s() - start;
	sqlite3_finalize(ins);
	sqlite3_close(db);
	report("sqlite-wal-full", lat, n, elapsed);
	return 0;
}

static int run_file(const char *dir, double seconds, const char *value, size_t vlen, double *lat)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/fsyncref.log", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "fsyncref: open %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t n = 0;
	double start = now_s(), end = start + seconds;
	while (n < MAX_WRITES) {
		double t0 = now_s();
		if (t0 >= end)
			break;
		if (write(fd, value, vlen) != (ssize_t)vlen || fdatasync(fd) != 0) {
			fprintf(stderr, "fsyncref: write: %s\n", strerror(errno));
			break;
		}
		lat[n++] = now_s() - t0;
	}
	double elapsed = now_s() - start;
	close(fd);
	report("file-fdatasync", lat, n, elapsed);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: fsyncref DIR SECONDS BYTES\n");
		return 2;
	}
	double seconds = atof(argv[2]);
	size_t vlen = (size_t)atol(argv[3]);
	if (seconds <= 0 || seconds > 60 || vlen == 0 || vlen > (1 << 20)) {
		fprintf(stderr, "fsyncref: SECONDS must be in (0, 60], BYTES in (0, 1 MiB]\n");
		return 2;
	}
	char *value = malloc(vlen);
	double *lat = malloc(MAX_WRITES * sizeof *lat);
	if (!value || !lat)
		abort();
	memset(value, 'x', vlen);
	int rc = 0;
	if (run_sqlite(argv[1], seconds, value, vlen, lat) < 0)
		rc = 1;
	if (run_file(argv[1], seconds, value, vlen, lat) < 0)
		rc = 1;
	free(value);
	free(lat);
	return rc;
}
