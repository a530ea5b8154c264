/* runtime.h — the node agent's container runtime: the OCI runtime spec (config.json) for
 * one container of a pod, and a driver that runs it with an OCI runtime through its
 * standard CLI (runc, or crun) under conmon as the per-container monitor; plus the reader
 * of the CRI-format log files conmon writes.
 *
 * Everything here is synchronous and may block (it forks runc and conmon, waits for
 * containers to stop, reads files): call it from worker threads, never from the event
 * loop. The driver keeps no state in memory: every container lives in its bundle folder
 * (<root>/<id>) and in the OCI runtime's state, so a fresh driver on the same folders
 * re-adopts what an earlier agent started (containers keep running when the agent exits).
 * Calls on different containers may run concurrently; calls that change one container
 * (create, start, stop, kill, delete) must not overlap for the same ID; status, list,
 * exec and the log reader may run at any time.
 *
 * Not for: pulling images (image_pull.h), pod networking (the caller passes the pod's
 * network namespace path), or deciding what to run (the agent's pod workers).
 * See docs/runtime.md. */
#ifndef TIMON_AGENT_RUNTIME_H
#define TIMON_AGENT_RUNTIME_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/image_store.h"
#include "base/buf.h"
#include "base/error.h"

#define RUNTIME_DEFAULT_ROOT    "/var/lib/timon/agent/containers"
#define RUNTIME_DEFAULT_RUN_DIR "/run/timon/runtime"
#define RUNTIME_SECCOMP_ROOT    "/var/lib/timon/agent/seccomp"
#define RUNTIME_ID_MAX          128

/* ---- the spec builder (runtime_spec.c, runtime_security.c) ---- */

/* A bind mount the caller prepared: a volume, /etc/hosts, /etc/resolv.conf, the
 * termination log, a shared /dev/shm. One whose destination equals a default mount's
 * (/dev/shm, /dev/mqueue, ...) replaces it. */
typedef struct runtime_mount {
	const char *source;      /* host path */
	const char *destination; /* absolute path in the container */
	bool readonly;
	/* k8s mountPropagation: NULL or "None" -> rprivate, "HostToContainer" -> rslave,
	 * "Bidirectional" -> rshared (needs a privileged container, as kube requires). */
	const char *propagation;
} runtime_mount;

typedef struct runtime_spec_input {
	const char *id; /* the runtime container ID: cgroup leaf and annotations */
	json_t *pod;    /* the Pod object (borrowed) */
	/* One entry of spec.containers / initContainers (borrowed). env[].value must be plain:
	 * the caller resolves valueFrom (configMap, secret, fieldRef, resourceFieldRef) and
	 * envFrom into env entries with values before calling. */
	json_t *container;
	const image_config *image; /* the image's config; NULL: none (no Entrypoint, Cmd, Env) */
	const char *image_ref;     /* for the annotations; may be NULL */
	/* The image's ID (config digest), annotated as timon.io/image-id: image GC keeps the
	 * image a container runs on even after its tag moved. May be NULL. */
	const char *image_id;
	/* root.path: the container's root filesystem, already mounted (runtime_rootfs_mount
	 * gives it). Users named by the image ("nobody") are looked up in its /etc/passwd. */
	const char *rootfs;
	const char *hostname; /* NULL: the pod's (spec.hostname, else metadata.name) */
	/* Namespaces to join (paths such as /run/netns/<pod>, /proc/<pid>/ns/ipc). NULL: a new
	 * one, or none (the host's) when the pod says hostNetwork / hostIPC / hostPID. */
	const char *netns_path, *ipcns_path, *utsns_path, *pidns_path;
	const char *cgroup_parent; /* NULL: "/timon/pod<uid>"; cgroupsPath = parent + "/" + id */
	const runtime_mount *mounts;
	size_t n_mounts;
	/* Extra "KEY=value" variables below the container's own env (service links); may be
	 * NULL. Neither these nor the image's Env take part in $(VAR) expansion. */
	char *const *extra_env;
	int restart_count;        /* annotation io.kubernetes.container.restartCount */
	int cgroup_version;       /* 1 or 2: which linux.resources form; 0: this machine's */
	int64_t machine_memory;   /* bytes, for the Burstable oom_score_adj; 0: this machine's */
	const char *seccomp_root; /* Localhost profiles are read below it; NULL: the default */
	/* Capabilities the agent can hand out (bit n = capability n): privileged containers
	 * get all of these. 0: this process's bounding set. */
	uint64_t cap_bounding;
} runtime_spec_input;

/* Builds the OCI runtime spec (config.json) for in->container of in->pod: process (command
 * and args combined with the image's Entrypoint/Cmd as Kubernetes does, $(VAR) expansion,
 * env, cwd, user and groups, capabilities, noNewPrivileges, oom_score_adj), root, hostname,
 * mounts, namespaces, cgroupsPath, resources, devices, seccomp, masked paths, sysctls and
 * annotations. *out is the caller's (json_decref). Errors: 400 CreateContainerConfigError
 * (runAsNonRoot violated, unresolved valueFrom, unknown image user, bad Localhost
 * profile), 400 CreateContainerError (nothing to run). */
int runtime_spec_build(const runtime_spec_input *in, json_t **out, terr **err);

/* k8s: the conversions kubelet applies to resources (pkg/kubelet/cm helpers). */
uint64_t runtime_cpu_shares(int64_t milli_cpu); /* max(2, milli*1024/1000), at most 262144 */
int64_t runtime_cpu_quota(int64_t milli_cpu, uint64_t period); /* >= 1000 µs */
uint64_t runtime_cpu_weight(uint64_t shares); /* cgroup v2: 1 + (shares-2)*9999/262142 */
/* The pod's QoS class: "Guaranteed", "Burstable" or "BestEffort" (static string). */
const char *runtime_pod_qos(json_t *pod);
/* 1 or 2: the cgroup version the OCI runtime will use here (2 only on a pure unified
 * hierarchy; hybrid layouts are v1). */
int runtime_cgroup_version(void);
/* k8s: expands $(VAR) in s with env ("KEY=value", n entries): $$ is a literal $, an
 * unknown $(VAR) stays as written. New string. */
char *runtime_expand_env(const char *s, char *const *env, size_t n);

/* Removes the cgroup at path (a pod's "/timon/pod<uid>" once its containers are deleted)
 * from every hierarchy: the unified one, or each v1 controller. A missing one is fine;
 * 409 when it still holds processes or child cgroups. */
int runtime_cgroup_remove(const char *path, terr **err);

/* ---- the driver (runtime_runc.c, runtime_exec.c) ---- */

typedef struct runtime runtime;

typedef struct runtime_config {
	const char *root; /* bundles: <root>/<id>/; NULL: RUNTIME_DEFAULT_ROOT */
	/* runc's state (runc/), conmon's attach sockets (sock/), exit files (exits/); a
	 * tmpfs is right (containers do not survive a reboot). NULL: RUNTIME_DEFAULT_RUN_DIR */
	const char *run_dir;
	const char *runtime_path; /* NULL: runc, else crun, from PATH and /usr/sbin, /usr/bin */
	const char *conmon_path;  /* NULL: conmon from PATH, /usr/bin, /usr/libexec/... */
} runtime_config;

/* Opens the driver (creating its folders; finding runc and conmon). NULL with 500 when a
 * folder cannot be created, 503 when no OCI runtime or no conmon is installed. */
runtime *runtime_open(const runtime_config *c, terr **err);
void runtime_close(runtime *rt);
/* The folder conmon writes <id> exit files to (borrowed): watch it with inotify to learn
 * of exits without polling. */
const char *runtime_exit_dir(const runtime *rt);
/* The OCI runtime binary in use (borrowed). */
const char *runtime_binary(const runtime *rt);
/* True when id is usable: 1..128 of [A-Za-z0-9_.-], not starting with '.' or '-'. */
bool runtime_id_valid(const char *id);

/* Creates <root>/<id>/ and mounts the image's layers there as an overlay (lowerdirs
 * topmost first, as image_rootfs_layers gives them) with a per-container upper and work
 * folder: <root>/<id>/rootfs. *rootfs_out (may be NULL) gets that path (new string).
 * 409 AlreadyExists when the container exists; 500 when the mount fails. */
int runtime_rootfs_mount(runtime *rt, const char *id, char *const *lowerdirs, size_t n,
                         char **rootfs_out, terr **err);

typedef struct runtime_create_opts {
	const char *log_path; /* the CRI log file (conmon k8s-file); its folder is created */
	int64_t log_size_max; /* bytes; 0: unlimited (conmon truncates the file when reached) */
	int timeout_s;        /* for the OCI runtime's create; 0: 60 s */
	/* The OCI runtime for this container (a RuntimeClass handler's binary, recorded so
	 * every later call uses it); NULL: the driver's. It must take runc's CLI and keep its
	 * state where runc does under --root. */
	const char *runtime_path;
	/* k8s stdin / stdinOnce / tty: conmon keeps a stdin pipe (-i) that attach writes to,
	 * closed when the first attach ends if stdin_once; tty needs process.terminal in the
	 * spec (conmon -t holds the console). */
	bool stdin_open, stdin_once, tty;
} runtime_create_opts;

/* Creates the container id from spec (borrowed; written as <root>/<id>/config.json; a
 * relative root.path is taken in the bundle) under a new conmon, which detaches from the
 * caller and outlives it, runs the OCI runtime's create and then watches the container.
 * Returns when the container is created (not started). 409 when it exists, 500 with the
 * runtime's message when create fails; a failed container stays (state unknown) until
 * runtime_delete removes it. */
int runtime_create(runtime *rt, const char *id, json_t *spec, const runtime_create_opts *o,
                   terr **err);
/* Starts a created container (runtime start); records the start time. 500
 * (reason StartError) with the runtime's message when the process cannot start. */
int runtime_start(runtime *rt, const char *id, terr **err);
/* Sends sig to the container's init process (all its processes when all). 404 when it
 * does not exist; signalling a stopped container is not an error. */
int runtime_kill(runtime *rt, const char *id, int sig, bool all, terr **err);
/* k8s: stops a container: sig (0: SIGTERM), then SIGKILL to all its processes when it has
 * not exited after grace_s seconds; returns once it has exited and conmon has recorded
 * the exit. A stopped container is fine. */
int runtime_stop(runtime *rt, const char *id, int sig, int grace_s, terr **err);
/* Removes a container: the runtime's state, its rootfs mount and its bundle folder,
 * exit file and socket link. A running one is refused (409) unless force, which kills it
 * first. A missing one is fine (0). The log file stays (the caller owns it). */
int runtime_delete(runtime *rt, const char *id, bool force, terr **err);

typedef enum runtime_state {
	RUNTIME_CREATED,
	RUNTIME_RUNNING, /* running or paused */
	RUNTIME_EXITED,
	RUNTIME_UNKNOWN, /* a bundle the runtime no longer knows (after a reboot) */
} runtime_state;

typedef struct runtime_status {
	char *id;
	runtime_state state;
	int pid;            /* the init process on the host, while created or running */
	int exit_code;      /* when EXITED: 0-255 (128+signal when killed); -1 when unknown */
	bool oom_killed;    /* the container's memory cgroup killed a process (conmon's oom file
	                     * or the cgroup's oom_kill counter) */
	const char *reason; /* k8s terminated reason when EXITED: "Completed", "Error",
	                     * "OOMKilled" (static); NULL otherwise */
	int64_t created_ns, started_ns, finished_ns; /* 0 when not (yet) known */
	char *log_path;
	char *bundle;
	json_t *annotations; /* config.json's annotations (pod name, uid, container name...) */
} runtime_status;

/* The state of one container, read from the runtime, conmon's exit and oom files and the
 * memory cgroup. *out is the caller's (runtime_status_free). 404 when there is no such
 * container. */
int runtime_status_get(runtime *rt, const char *id, runtime_status *out, terr **err);
/* Every container under the root whose ID starts with prefix (NULL or "": all), sorted by
 * ID; what a restarted agent re-adopts. *out is the caller's (runtime_statuses_free). */
int runtime_list(runtime *rt, const char *prefix, runtime_status **out, size_t *n, terr **err);
void runtime_status_free(runtime_status *s);
void runtime_statuses_free(runtime_status *s, size_t n);
/* "created", "running", "exited", "unknown" */
const char *runtime_state_name(runtime_state s);

typedef struct runtime_exec_opts {
	char *const *argv;      /* NULL-terminated; required */
	const char *stdin_data; /* written to the process's stdin, then closed; NULL: empty */
	size_t stdin_len;
	int timeout_s;     /* 0: none; when passed the process is killed (exit 137) */
	size_t max_output; /* per stream; 0: 16 MiB; more is read and dropped */
} runtime_exec_opts;

typedef struct runtime_exec_result {
	int exit_code; /* 0-255, 128+signal */
	bool timed_out;
	buf out, err; /* what the process wrote (caller frees with buf_free) */
} runtime_exec_result;

/* k8s: exec without a terminal (ExecSync; kubectl exec without -t): runs argv in the
 * running container with its process settings (user, env, cwd, capabilities), feeding
 * stdin and capturing stdout and stderr. 0 once the process ran, whatever its exit code;
 * 409 when the container is not running; 500 when it could not be run. *res is the
 * caller's (runtime_exec_result_free). */
int runtime_exec(runtime *rt, const char *id, const runtime_exec_opts *o, runtime_exec_result *res,
                 terr **err);
void runtime_exec_result_free(runtime_exec_result *res);

/* ---- CRI log files (runtime_logs.c) ---- */

/* One line of a CRI log file: `2016-10-06T00:17:09.669794202Z stdout F message`. */
typedef struct runtime_log_line {
	int64_t time_ns;
	bool is_stderr;
	bool partial;    /* tag P: the message continues in the next line of the stream */
	const char *msg; /* borrowed from the parsed bytes; not NUL-terminated */
	size_t msg_len;
} runtime_log_line;

/* Parses one line (without its newline; counted, never NUL-trusted). 0, or -1 when it is
 * not CRI format. */
int runtime_log_parse(const char *line, size_t n, runtime_log_line *out);

#define RUNTIME_LOG_STDOUT 1
#define RUNTIME_LOG_STDERR 2

typedef struct runtime_log_opts {
	int64_t tail;        /* k8s tailLines: the last N lines (complete messages); < 0: all */
	int64_t since_ns;    /* k8s sinceTime/sinceSeconds: lines at or after; 0: all */
	int streams;         /* RUNTIME_LOG_STDOUT | RUNTIME_LOG_STDERR; 0: both */
	bool timestamps;     /* k8s timestamps: prefix each line with its RFC 3339 time */
	int64_t limit_bytes; /* k8s limitBytes: stop after about this much output; 0: none */
} runtime_log_opts;

/* Appends to out what `kubectl logs` shows of the CRI log file at path, reading from byte
 * offset (0: the start; tail applies only then) to the last complete line. *next (may be
 * NULL) gets the offset to continue from when following: after the last line consumed,
 * and 0 again when the file was truncated below offset. A missing file reads as empty
 * (0). Malformed lines are skipped. */
int runtime_logs_read(const char *path, const runtime_log_opts *o, int64_t offset, buf *out,
                      int64_t *next, terr **err);
/* For follow: blocks until the file at path grows past offset, shrinks below it, or
 * timeout_ms passes (inotify; polls when inotify is unavailable). 1 when it changed, 0 on
 * timeout. */
int runtime_logs_wait(const char *path, int64_t offset, int timeout_ms);

#endif
