/* agent_logs.c — container log rotation, kubelet's container log manager: every 10 s a
 * pool job looks at the CRI log file of each running container and, once it is larger
 * than containerLogMaxSize, renames it to `<log>.<YYYYMMDD-HHMMSS>` and asks the
 * container's conmon to reopen its log (the `2 0 0` REOPEN_LOGS_EVENT line on the
 * bundle's `ctl` fifo: conmon then writes a fresh file at the same path). Rotated files
 * but the newest are gzip-compressed (`.gz`), and the oldest are removed so that at most
 * containerLogMaxFiles files (the current one included) stay. The naming and selection
 * rules are pure functions for the unit tests. Not for: reading logs (runtime_logs.c) or
 * choosing where they live (agent_ids.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "agent/agent-internal.h"
#include "base/log.h"
#include "base/util.h"

char *agent_log_rotated_name(const char *path, int64_t now_ns)
{
	time_t t = (time_t)(now_ns / 1000000000LL);
	struct tm tm;
	gmtime_r(&t, &tm);
	char stamp[32];
	/* k8s: the rotated file's suffix is the time in Go's "20060102-150405" layout. */
	strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
	return xasprintf("%s.%s", path, stamp);
}

/* The stamp of a rotated name of base ("<base>.YYYYMMDD-HHMMSS[.gz]"), or NULL. */
static const char *rotated_stamp(const char *name, const char *base)
{
	size_t bl = strlen(base);
	if (strncmp(name, base, bl) != 0 || name[bl] != '.')
		return NULL;
	const char *s = name + bl + 1;
	for (int i = 0; i < 15; i++) {
		bool want_dash = i == 8;
		if (want_dash ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
			return NULL;
	}
	if (s[15] && strcmp(s + 15, ".gz") != 0)
		return NULL;
	return s;
}

bool agent_log_is_rotated(const char *name, const char *base)
{
	return rotated_stamp(name, base) != NULL;
}

static int cmp_stamp(const void *a, const void *b)
{
	/* Same base: comparing the whole names orders them by stamp. */
	return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t agent_log_excess(char **rotated, size_t n, int max_files, size_t *first_kept)
{
	if (n > 1)
		qsort(rotated, n, sizeof *rotated, cmp_stamp);
	/* k8s: before a rotation at most max_files - 2 rotated files stay, so that after it
	 * the current file and max_files - 1 rotated ones remain. */
	size_t keep = max_files >= 2 ? (size_t)max_files - 2 : 0;
	size_t drop = n > keep ? n - keep : 0;
	if (first_kept)
		*first_kept = drop;
	return drop;
}

/* gzip src into src.gz (through src.gz.tmp), then removes src. 0 or -1. */
static int compress_file(const char *src)
{
	_cleanup_free_ char *dst = xasprintf("%s.gz", src);
	_cleanup_free_ char *tmp = xasprintf("%s.gz.tmp", src);
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	gzFile gz = gzopen(tmp, "wb");
	if (!gz) {
		close(in);
		return -1;
	}
	char chunk[65536];
	ssize_t n;
	bool ok = true;
	while ((n = read(in, chunk, sizeof chunk)) > 0)
		if (gzwrite(gz, chunk, (unsigned)n) != (int)n) {
			ok = false;
			break;
		}
	close(in);
	if (gzclose(gz) != Z_OK || n < 0)
		ok = false;
	if (!ok || rename(tmp, dst) < 0) {
		unlink(tmp);
		return -1;
	}
	unlink(src);
	return 0;
}

/* Asks conmon to reopen the container's log (its ctl fifo). 0 or -1 (errno). */
static int reopen_log(const char *bundle)
{
	_cleanup_free_ char *ctl = xasprintf("%s/ctl", bundle);
	/* conmon holds the read end; without a reader (conmon gone) this fails with ENXIO
	 * instead of blocking. */
	int fd = open(ctl, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	static const char msg[] = "2 0 0\n"; /* REOPEN_LOGS_EVENT */
	ssize_t w = write(fd, msg, sizeof msg - 1);
	int e = errno;
	close(fd);
	errno = e;
	return w == (ssize_t)(sizeof msg - 1) ? 0 : -1;
}

/* The folder and file name of path (new strings). */
static void split_path(const char *path, char **dir, char **base)
{
	const char *slash = strrchr(path, '/');
	*dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
	*base = xstrdup(slash ? slash + 1 : path);
}

/* One container's log: old rotated files removed, older ones compressed, the current
 * one rotated when over max_size. */
static void rotate_one(const runtime_status *st, int64_t max_size, int max_files)
{
	struct stat sb;
	if (!st->log_path || stat(st->log_path, &sb) < 0 || sb.st_size <= max_size)
		return;
	_cleanup_free_ char *dir = NULL, *base = NULL;
	split_path(st->log_path, &dir, &base);
	char **rot = NULL;
	size_t n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (agent_log_is_rotated(e->d_name, base)) {
			rot = xrealloc(rot, (n + 1) * sizeof *rot);
			rot[n++] = xstrdup(e->d_name);
		}
	}
	closedir(d);
	size_t kept = 0;
	size_t drop = agent_log_excess(rot, n, max_files, &kept);
	for (size_t i = 0; i < drop; i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, rot[i]);
		unlink(p);
	}
	/* Every kept rotated file is compressed: after this rotation none is the newest. */
	for (size_t i = kept; i < n; i++) {
		if (str_has_suffix(rot[i], ".gz"))
			continue;
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, rot[i]);
		if (compress_file(p) < 0)
			log_warn("agent: compressing rotated log %s failed", p);
	}
	for (size_t i = 0; i < n; i++)
		free(rot[i]);
	free(rot);
	_cleanup_free_ char *to = agent_log_rotated_name(st->log_path, time_now_ns());
	if (access(to, F_OK) == 0 || rename(st->log_path, to) < 0)
		return; /* rotated this second already, or gone */
	if (reopen_log(st->bundle) < 0) {
		/* k8s: when the runtime cannot reopen, the rotation is undone. */
		log_warn("agent: container %s: conmon did not take the log reopen request (%s); "
		         "rotation undone", st->id, strerror(errno));
		rename(to, st->log_path);
		return;
	}
	log_debug("agent: rotated %s (%lld bytes)", st->log_path, (long long)sb.st_size);
}

void agent_logs_rotate(runtime *rt, int64_t max_size, int max_files)
{
	runtime_status *all = NULL;
	size_t n = 0;
	if (runtime_list(rt, NULL, &all, &n, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (all[i].state == RUNTIME_RUNNING)
			rotate_one(&all[i], max_size, max_files);
	runtime_statuses_free(all, n);
}
