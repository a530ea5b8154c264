/* runtime-internal.h — what the runtime_*.c files share and nothing else uses: running
 * helper processes (runc, conmon), small file-system helpers, and the spec builder's
 * security pieces (runtime_security.c).
 * Not for: callers outside src/agent/runtime_*.c (they use runtime.h). */
#ifndef TIMON_AGENT_RUNTIME_INTERNAL_H
#define TIMON_AGENT_RUNTIME_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/runtime.h"
#include "base/buf.h"
#include "base/error.h"

/* ---- the driver (runtime_runc.c) ---- */

struct runtime {
	char *root; /* bundles */
	char *runc; /* the OCI runtime binary */
	char *conmon;
	char *runc_root; /* <run_dir>/runc: the runtime's --root */
	char *exit_dir;  /* <run_dir>/exits */
	char *sock_dir;  /* <run_dir>/sock */
};

/* <root>/<id> (new string). */
char *rt_bundle_path(const runtime *rt, const char *id);
/* The OCI runtime binary container id was created with (its RuntimeClass handler's,
 * recorded in timon.json), else rt->runc. New string. */
char *rt_runtime_for(const runtime *rt, const char *id);
/* Runs the OCI runtime bin (NULL: rt->runc) with --root, then args (NULL-terminated).
 * *rc gets its exit status; out and errb (may be NULL) its output. 0 or -1 (could not
 * run). */
int rt_runc(const runtime *rt, const char *bin, const char *const *args, int timeout_ms, buf *out,
            buf *errb, int *rc, terr **err);
/* The message of a runtime error output: the msg="..." of its log line, else the text,
 * trimmed (new string). */
char *rt_runc_message(const buf *errb);

/* ---- rootfs (runtime_rootfs.c) ---- */

/* True when path is a mount point (another device than its parent, or /). */
bool rt_is_mountpoint(const char *path);
/* Unmounts <bundle>/rootfs when something is mounted there. 0 or -1. */
int rt_rootfs_unmount(const char *bundle, terr **err);

/* ---- processes (runtime_proc.c) ---- */

typedef struct rt_proc_opts {
	const char *stdin_data; /* NULL: stdin is /dev/null */
	size_t stdin_len;
	buf *out, *err;    /* captured stdout / stderr; NULL: discarded */
	size_t max_output; /* per stream; 0: 16 MiB (the rest is read and dropped) */
	int timeout_ms;    /* 0: none; then the process is killed (SIGKILL) */
	/* On timeout also SIGKILL the pid this file names (runc exec's --pid-file). */
	const char *kill_pidfile;
	int pass_fd;            /* > 2: becomes the child's fd 3 */
	const char *cwd;        /* the child's working folder; NULL: the caller's */
	char *const *extra_env; /* "KEY=value" added to the environment; may be NULL */
	bool new_session;       /* the child calls setsid */
} rt_proc_opts;

/* Runs argv (argv[0] an absolute path) with the agent's environment and waits for it.
 * The child is made with posix_spawn (no copy of the agent's page tables, which a fork
 * of the server would cost on every runc call); it gets default signal dispositions and
 * no descriptor beyond 0-2 (and 3 with pass_fd).
 * *exit_code gets its status (128+signal when a signal ended it), *timed_out (may be NULL)
 * whether the timeout killed it. 0, or -1 (500) when it could not be started. */
int rt_proc_run(char *const argv[], const rt_proc_opts *o, int *exit_code, bool *timed_out,
                terr **err);
/* Waits until process pid has exited (pidfd; polling when pidfds are unavailable).
 * 1 when it has (or never existed), 0 when timeout_ms passed. */
int rt_wait_pid_exit(int pid, int timeout_ms);
/* The first executable among dir/name for each of dirs and of $PATH (new string), or
 * NULL. */
char *rt_find_binary(const char *name, const char *const *dirs);

/* ---- files (runtime_proc.c) ---- */

/* mkdir -p with mode for the folders it creates. 0 or -1 (errno). */
int rt_mkdir_p(const char *path, mode_t mode);
/* Removes path and everything below it without following symlinks and without entering
 * another mount (a still-mounted rootfs is left alone: -1 with EBUSY). 0 or -1 (errno). */
int rt_rm_rf(const char *path);
/* Reads a small file (at most cap-1 bytes) as a NUL-terminated string, trailing
 * newlines cut. Its length, or -1 (errno). */
ssize_t rt_read_small(const char *path, char *out, size_t cap);
/* Modification time of path in ns since the epoch, or 0 when it does not exist. */
int64_t rt_mtime_ns(const char *path);

/* ---- the spec's security pieces (runtime_security.c) ---- */

/* The effective securityContext value at key: the container's, else the pod's
 * (pod.spec.securityContext), else NULL (borrowed). */
json_t *rt_sc_get(json_t *pod, json_t *ctr, const char *key);

typedef struct rt_user {
	uint32_t uid, gid;
	uint32_t *groups; /* additional gids */
	size_t n_groups;
} rt_user;

/* k8s: the process user: runAsUser/runAsGroup over the image's User (names looked up in
 * rootfs's /etc/passwd and /etc/group), supplementalGroups, fsGroup and the user's groups;
 * runAsNonRoot checked. 0 or -1 (400 CreateContainerConfigError). */
int rt_spec_user(json_t *pod, json_t *ctr, const char *image_user, const char *rootfs, rt_user *out,
                 terr **err);
void rt_user_free(rt_user *u);

/* The capability set ("CAP_CHOWN", ...) for the container: the runtime default set with
 * securityContext.capabilities drop and add applied, or every capability when privileged
 * (or add ALL); never one outside bounding (bit n = capability n), as a container cannot
 * get what the agent lacks. NULL-terminated; the caller frees with image_strv_free. */
char **rt_spec_caps(json_t *ctr, bool privileged, uint64_t bounding);
/* This process's capability bounding set (all bits when unreadable). */
uint64_t rt_cap_bounding(void);
/* linux.seccomp for the effective seccompProfile (NULL when Unconfined, unset or
 * privileged). caps is what rt_spec_caps gave. 0 or -1 (400 for a bad Localhost profile);
 * *out may be NULL on success. */
int rt_spec_seccomp(json_t *pod, json_t *ctr, bool privileged, char *const *caps,
                    const char *seccomp_root, json_t **out, terr **err);

#endif
