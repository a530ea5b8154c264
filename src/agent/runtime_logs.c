/* runtime_logs.c — the CRI container log format conmon writes (one line per chunk:
 * `<RFC 3339 time> <stdout|stderr> <F|P> <message>`, P marking a line that continues in
 * the next chunk) and a reader that answers `kubectl logs`: tailLines, sinceTime,
 * timestamps, limitBytes, one stream or both, and byte offsets to follow a growing file.
 *
 * Partial chunks (P) are joined by writing their message without a newline, as kubelet
 * does. tail counts lines of the file, as kubelet does. Files are read in 64 KiB chunks;
 * nothing holds the whole file. Log rotation is not handled here (conmon truncates the
 * file when --log-size-max is reached; a reader that sees the file shrink starts over).
 * Not for: writing logs (conmon does). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/runtime.h"
#include "base/util.h"

#define CHUNK 65536

int runtime_log_parse(const char *line, size_t n, runtime_log_line *out)
{
	const char *end = line + n;
	const char *sp1 = memchr(line, ' ', n);
	if (!sp1 || sp1 == line || sp1 - line > 64)
		return -1;
	char ts[72];
	memcpy(ts, line, (size_t)(sp1 - line));
	ts[sp1 - line] = '\0';
	if (time_parse_rfc3339(ts, &out->time_ns) < 0)
		return -1;
	const char *s = sp1 + 1;
	if ((size_t)(end - s) >= 7 && !memcmp(s, "stdout ", 7))
		out->is_stderr = false;
	else if ((size_t)(end - s) >= 7 && !memcmp(s, "stderr ", 7))
		out->is_stderr = true;
	else
		return -1;
	s += 7;
	/* The tag: colon-separated; the first part is F (full) or P (partial). */
	const char *tag_end = memchr(s, ' ', (size_t)(end - s));
	if (!tag_end)
		tag_end = end;
	if (tag_end == s || (*s != 'F' && *s != 'P') || (tag_end - s > 1 && s[1] != ':'))
		return -1;
	out->partial = *s == 'P';
	out->msg = tag_end < end ? tag_end + 1 : end;
	out->msg_len = (size_t)(end - out->msg);
	return 0;
}

/* k8s: RFC3339NanoFixed in UTC: 2016-10-06T00:17:09.669794202Z. */
static void format_ts(int64_t ns, char out[40])
{
	time_t sec = (time_t)(ns / 1000000000);
	long frac = (long)(ns % 1000000000);
	if (frac < 0) {
		frac += 1000000000;
		sec--;
	}
	struct tm tm;
	gmtime_r(&sec, &tm);
	size_t l = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + l, 40 - l, ".%09ldZ", frac);
}

/* Where the last `tail` lines of the file begin (kubelet counts lines, whatever the
 * stream). */
static int64_t tail_start(int fd, int64_t size, int64_t tail)
{
	if (tail == 0)
		return size;
	char chunk[CHUNK];
	int64_t pos = size, seen = 0;
	bool first = true;
	while (pos > 0) {
		size_t want = pos > CHUNK ? CHUNK : (size_t)pos;
		pos -= (int64_t)want;
		ssize_t r = pread(fd, chunk, want, pos);
		if (r != (ssize_t)want)
			return 0;
		for (size_t i = want; i-- > 0;) {
			if (chunk[i] != '\n')
				continue;
			if (first && pos + (int64_t)i == size - 1) { /* the file's final newline */
				first = false;
				continue;
			}
			first = false;
			if (++seen == tail)
				return pos + (int64_t)i + 1;
		}
	}
	return 0;
}

int runtime_logs_read(const char *path, const runtime_log_opts *o, int64_t offset, buf *out,
                      int64_t *next, terr **err)
{
	static const runtime_log_opts all = {.tail = -1};
	if (!o)
		o = &all;
	if (next)
		*next = offset;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return terr_internal(err, "logs %s: %s", path, strerror(errno));
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return terr_internal(err, "logs %s: %s", path, strerror(e));
	}
	int64_t size = st.st_size;
	bool fresh = offset == 0;
	if (offset > size) /* truncated (rotated by conmon): start over */
		offset = 0;
	int64_t pos = offset;
	if (fresh && o->tail >= 0)
		pos = tail_start(fd, size, o->tail);
	int streams = o->streams ? o->streams : RUNTIME_LOG_STDOUT | RUNTIME_LOG_STDERR;
	int64_t written = 0;
	bool full = false;
	char *chunk = xmalloc(CHUNK);
	buf line = {0}; /* a line that spans chunks */
	int64_t consumed = pos;
	while (pos < size && !full) {
		size_t want = size - pos > CHUNK ? CHUNK : (size_t)(size - pos);
		ssize_t r = pread(fd, chunk, want, pos);
		if (r <= 0)
			break;
		int64_t base = pos;
		pos += r;
		const char *p = chunk, *end = chunk + r;
		while (p < end && !full) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl) {
				buf_add(&line, p, (size_t)(end - p));
				break;
			}
			const char *l = p;
			size_t n = (size_t)(nl - p);
			if (line.n) {
				buf_add(&line, p, n);
				l = line.p;
				n = line.n;
			}
			runtime_log_line ll;
			bool want_line =
			    runtime_log_parse(l, n, &ll) == 0 &&
			    (streams & (ll.is_stderr ? RUNTIME_LOG_STDERR : RUNTIME_LOG_STDOUT)) &&
			    ll.time_ns >= o->since_ns;
			if (want_line) {
				buf piece = {0};
				if (o->timestamps) {
					char ts[40];
					format_ts(ll.time_ns, ts);
					buf_printf(&piece, "%s ", ts);
				}
				buf_add(&piece, ll.msg, ll.msg_len);
				if (!ll.partial)
					buf_putc(&piece, '\n');
				size_t take = piece.n;
				if (o->limit_bytes > 0 &&
				    written + (int64_t)take >= o->limit_bytes) {
					take = (size_t)(o->limit_bytes - written);
					full = true;
				}
				buf_add(out, piece.p, take);
				written += (int64_t)take;
				buf_free(&piece);
			}
			consumed = base + (int64_t)(nl - chunk) + 1;
			buf_reset(&line);
			p = nl + 1;
		}
	}
	free(chunk);
	buf_free(&line);
	close(fd);
	if (next)
		*next = consumed;
	if (out && !out->p)
		buf_puts(out, "");
	return 0;
}

int runtime_logs_wait(const char *path, int64_t offset, int timeout_ms)
{
	int64_t deadline = time_mono_ns() / 1000000 + timeout_ms;
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	int wd = -1;
	for (;;) {
		struct stat st;
		if (stat(path, &st) == 0) {
			if (st.st_size != offset)
				break;
			if (fd >= 0 && wd < 0)
				wd = inotify_add_watch(fd, path,
				                       IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE |
				                           IN_DELETE_SELF | IN_MOVE_SELF);
		}
		int64_t left = deadline - time_mono_ns() / 1000000;
		if (left <= 0) {
			if (fd >= 0)
				close(fd);
			return 0;
		}
		if (wd >= 0) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			if (poll(&p, 1, (int)left) > 0) {
				char ev[4096];
				while (read(fd, ev, sizeof ev) > 0)
					;
			}
		} else {
			struct timespec ts = {0, (left > 100 ? 100 : left) * 1000000};
			nanosleep(&ts, NULL);
		}
	}
	if (fd >= 0)
		close(fd);
	return 1;
}
