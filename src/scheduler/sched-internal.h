/* sched-internal.h — what the scheduler core's files share: hashed strings, compact labels
 * and selectors, the node/pod structs, snapshot node infos, the cycle state and the plugin
 * table. Not for: users of the scheduler (sched.h is the interface).
 */
#ifndef TIMON_SCHEDULER_SCHED_INTERNAL_H
#define TIMON_SCHEDULER_SCHED_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/hmap.h"
#include "scheduler/sched.h"

#define SCHED_MAX_NODE_SCORE 100 /* k8s: framework.MaxNodeScore */

/* ---- arena: one per node / pod, freed at once ---- */

typedef struct sched_arena {
	struct sched_arena_block *head;
} sched_arena;

void *sched_arena_alloc(sched_arena *a, size_t n); /* zeroed, 8-aligned, never NULL */
char *sched_arena_strdup(sched_arena *a, const char *s);
void sched_arena_free(sched_arena *a);

/* ---- hashed strings and labels ---- */

typedef struct sched_hstr {
	const char *s;
	uint64_t h;
} sched_hstr;

uint64_t sched_hash(const char *s);
sched_hstr sched_hstr_dup(sched_arena *a, const char *s);
/* The canonical copy of s (label keys, topology keys, namespaces): process-wide, never
 * freed, thread-safe. Equal interned strings are equal pointers. */
sched_hstr sched_intern(const char *s);
static inline sched_hstr sched_hstr_of(const char *s)
{
	return (sched_hstr){s, sched_hash(s)};
}
static inline bool sched_hstr_eq(sched_hstr a, sched_hstr b)
{
	return a.h == b.h && (a.s == b.s || strcmp(a.s, b.s) == 0);
}

typedef struct sched_label {
	sched_hstr k, v;
} sched_label;

typedef struct sched_labels {
	sched_label *v;
	uint32_t n;
} sched_labels;

/* Copies a JSON object of strings (NULL = none) into out. */
void sched_labels_from_json(sched_arena *a, json_t *obj, sched_labels *out);
static inline const sched_hstr *sched_labels_get(const sched_labels *l, sched_hstr key)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (sched_hstr_eq(l->v[i].k, key))
			return &l->v[i].v;
	return NULL;
}

/* ---- selectors ---- */

enum sched_op { SEL_IN, SEL_NOT_IN, SEL_EXISTS, SEL_NOT_EXISTS, SEL_GT, SEL_LT };

typedef struct sched_req {
	sched_hstr key;
	uint8_t op;
	uint32_t nvals;
	sched_hstr *vals;
	int64_t num; /* Gt / Lt operand */
} sched_req;

typedef struct sched_sel {
	sched_req *reqs;
	uint32_t n;
	bool nothing; /* k8s: a nil LabelSelector selects nothing */
} sched_sel;

bool sched_req_matches(const sched_req *r, const sched_hstr *val);
bool sched_sel_matches(const sched_sel *s, const sched_labels *l);
/* Whether two selectors are the same requirements in the same order. */
bool sched_sel_equal(const sched_sel *a, const sched_sel *b);
/* metav1.LabelSelector (NULL/null: nothing). Returns 0 or -1 when invalid. */
int sched_sel_from_json(sched_arena *a, json_t *sel, sched_sel *out);
/* Appends "key in (value)" (or notin) to s (k8s: matchLabelKeys / mismatchLabelKeys). */
void sched_sel_add(sched_arena *a, sched_sel *s, sched_hstr key, uint8_t op, sched_hstr val);

/* A NodeSelectorTerm (required or preferred). */
typedef struct sched_nsterm {
	sched_req *exprs;
	uint32_t nexprs;
	sched_req *fields; /* metadata.name only */
	uint32_t nfields;
	int32_t weight;
} sched_nsterm;

/* Parses a NodeSelectorTerm; -1 when invalid or empty (k8s: such a term matches nothing). */
int sched_nsterm_from_json(sched_arena *a, json_t *term, sched_nsterm *out);
bool sched_nsterm_matches(const sched_nsterm *t, const sched_node *n);

/* ---- taints, tolerations, resources, ports ---- */

enum sched_effect {
	EFFECT_ANY = 0, /* a toleration without effect */
	EFFECT_NO_SCHEDULE,
	EFFECT_PREFER_NO_SCHEDULE,
	EFFECT_NO_EXECUTE,
	EFFECT_OTHER,
};
uint8_t sched_effect_parse(const char *s);

typedef struct sched_taint {
	sched_hstr key;
	const char *value;
	uint8_t effect;
} sched_taint;

enum { TOL_EQUAL, TOL_EXISTS, TOL_BAD };

typedef struct sched_toleration {
	sched_hstr key; /* "" = any key */
	const char *value;
	uint8_t op, effect;
} sched_toleration;

bool sched_tolerates(const sched_toleration *tols, uint32_t n, const sched_taint *t);

typedef struct sched_scalar {
	sched_hstr name;
	int64_t v;
} sched_scalar;

typedef struct sched_port {
	sched_hstr ip; /* "0.0.0.0" when unset */
	int32_t port;
	uint8_t proto; /* 0 TCP, 1 UDP, 2 SCTP */
} sched_port;

typedef struct sched_image {
	sched_hstr name;
	int64_t size;
} sched_image;

struct sched_node {
	int refs;
	sched_arena arena;
	sched_hstr name;
	sched_labels labels;
	bool unschedulable;
	sched_taint *taints;
	uint32_t ntaints;
	int64_t cpu, mem, eph, pods; /* allocatable: millicores, bytes, bytes, count */
	sched_scalar *sc;
	uint32_t nsc;
	sched_image *images; /* one entry per name */
	uint32_t nimages;
};

/* A PodAffinityTerm of some pod (its own namespace already folded in). */
typedef struct sched_aterm {
	sched_sel sel;
	sched_hstr *nss; /* namespaces listed (or the owner's own) */
	uint32_t nns;
	bool has_nssel; /* namespaceSelector given */
	sched_sel nssel;
	sched_hstr topo;
	int32_t weight;
} sched_aterm;

typedef struct sched_spread {
	int32_t max_skew, min_domains;
	sched_hstr key;
	bool hard; /* DoNotSchedule */
	bool honor_affinity, honor_taints;
	sched_sel sel;
} sched_spread;

struct sched_pod {
	int refs;
	sched_arena arena;
	const char *key;
	sched_hstr ns, name;
	const char *node_name, *nominated, *scheduler_name;
	sched_labels labels;
	int32_t priority;
	bool preempt_never, terminating, preempted; /* preempted: DisruptionTarget by scheduler */
	int64_t start_ns;                           /* status.startTime, INT64_MAX if unknown */
	int64_t cpu, mem, eph;                      /* requests */
	sched_scalar *sc;
	uint32_t nsc;
	int64_t nz_cpu, nz_mem; /* k8s: non-zero requests used by scoring */
	sched_req *node_selector;
	uint32_t n_node_selector;
	bool has_required_na;
	sched_nsterm *na_req, *na_pref;
	uint32_t n_na_req, n_na_pref;
	sched_toleration *tols;
	uint32_t ntols;
	sched_aterm *aff_req, *anti_req, *aff_pref, *anti_pref;
	uint32_t n_aff_req, n_anti_req, n_aff_pref, n_anti_pref;
	bool has_affinity; /* terms that score other pods: required/preferred affinity, preferred
	                      anti */
	sched_spread *spread;
	uint32_t nspread;
	sched_port *ports;
	uint32_t nports;
	sched_hstr *images; /* normalized, init containers then containers */
	uint32_t nimages;
	bool has_pvc;
};

bool sched_pod_matches_node_affinity(const sched_pod *p, const sched_node *n);
/* The first NoSchedule/NoExecute taint of n that p does not tolerate, or NULL. */
const sched_taint *sched_untolerated(const sched_pod *p, const sched_node *n);

/* ---- snapshot ---- */

typedef struct sched_port_use {
	sched_port p;
	uint32_t count;
} sched_port_use;

typedef struct sched_ninfo {
	sched_node *node; /* NULL while only pods name it */
	char *name;
	sched_pod **pods;
	uint32_t npods, cap;
	int64_t cpu, mem, eph, nz_cpu, nz_mem; /* requested by the pods */
	sched_scalar *sc;                      /* names owned (strdup) */
	uint32_t nsc, capsc;
	sched_port_use *ports; /* ip strings owned */
	uint32_t nports, capports;
	uint32_t n_aff, n_req_anti;
	int64_t index; /* scan position, -1 when absent */
	sched_pod **nom; /* pending pods nominated here (not in pods; referenced by the snapshot) */
	uint32_t nnom, capnom;
	uint32_t pods_gen; /* changes whenever a pod is added or removed */
	/* Counts of pods matching a selector here (PodTopologySpread), for two of the
	 * snapshot's count questions (sched_spread_q: a selector and a namespace), valid
	 * while pods_gen is `gen`: the pods of one workload ask the same question of every
	 * node in turn, and only the node that took the last pod has a new answer. Question
	 * q lives in slot q % 2. A cache the scheduler's worker fills (one cycle at a time). */
	struct {
		uint32_t q, gen;
		int64_t n;
	} count_memo[2];
} sched_ninfo;

void sched_ninfo_add(sched_ninfo *ni, sched_pod *p);
void sched_ninfo_remove_at(sched_ninfo *ni, uint32_t i);
/* A private copy for preemption dry runs (pods not referenced). */
void sched_ninfo_clone(const sched_ninfo *src, sched_ninfo *dst);
void sched_ninfo_dispose(sched_ninfo *ni);
int64_t sched_ninfo_scalar(const sched_ninfo *ni, sched_hstr name);
int64_t sched_node_scalar(const sched_node *n, sched_hstr name);

struct sched_snapshot {
	sched_ninfo **nodes;
	size_t n, cap;
	hmap by_name; /* name -> sched_ninfo (ghosts included) */
	hmap pods;    /* key -> struct placement */
	hmap nominated; /* key -> struct placement (the node it is nominated to) */
	hmap images;  /* image name -> struct image_count */
	hmap nss;     /* namespace -> struct ns_entry */
	size_t start;
	uint32_t n_aff, n_req_anti;
	uint64_t seed, gen;
	/* Placed pods added (+1) and removed (-1) on real nodes, from sequence number
	 * pj_base on: InterPodAffinity's counts, kept between cycles, catch up from it.
	 * topo_gen changes with what the counts cannot catch up with: a node added, changed
	 * or removed, a namespace's labels. */
	struct sched_pj *pj;
	uint32_t pj_n, pj_cap;
	uint64_t pj_base, topo_gen;
	uint64_t pj_read[3]; /* each reader's position + 1 (0: none), SCHED_PJ_* */
	struct sched_ipa_keep *ipa; /* plugin_interpod.c's, freed with the snapshot */
	struct sched_spread_keep *spread_keep[2]; /* plugin_spread.c's (DoNotSchedule,
	                                           * ScheduleAnyway), likewise */
	/* PodTopologySpread's count questions, asked lately: a node's count memo answers by
	 * id, so a cycle compares a selector with these once, not at every node. */
	struct sched_spread_q {
		sched_pod *by; /* referenced: owns sel */
		const sched_sel *sel;
		sched_hstr ns;
		uint32_t id; /* 0: unused */
	} spread_q[4];
	uint32_t spread_q_id, spread_q_next;
};

struct sched_pj {
	sched_node *node; /* referenced */
	sched_pod *pod;   /* referenced */
	int sign;
};

/* Forgets the journal's entries before sequence number seq. */
void sched_snapshot_pj_trim(sched_snapshot *s, uint64_t seq);
/* The journal's readers (kept counts). */
enum { SCHED_PJ_IPA, SCHED_PJ_SPREAD, SCHED_PJ_SPREAD_SOFT };
/* Reader r has read the journal up to seq: the entries every reader has read go. */
void sched_snapshot_pj_read(sched_snapshot *s, int r, uint64_t seq);
void sched_ipa_keep_free(struct sched_ipa_keep *k);
void sched_spread_keep_free(struct sched_spread_keep *k);

const sched_ninfo *sched_snapshot_find(const sched_snapshot *s, const char *name);
/* Labels of namespace ns, or NULL when unknown. */
const sched_labels *sched_snapshot_ns_labels(const sched_snapshot *s, const char *ns);
/* Number of nodes having image name. */
uint32_t sched_snapshot_image_nodes(const sched_snapshot *s, const char *name);
/* k8s: AffinityTerm.Matches; p's namespace labels come from s when the term needs them. */
bool sched_aterm_matches(const sched_aterm *t, const sched_pod *p, const sched_snapshot *s);

/* ---- topology pair counts ---- */

typedef struct sched_tp {
	const char *key, *val;
	uint64_t h;
	int64_t count;
} sched_tp;

typedef struct sched_tpmap {
	sched_tp *v;
	uint32_t cap, n;
} sched_tpmap;

int64_t *sched_tpmap_at(sched_tpmap *m, sched_hstr key, sched_hstr val, bool create);
int64_t sched_tpmap_get(const sched_tpmap *m, sched_hstr key, sched_hstr val);
void sched_tpmap_free(sched_tpmap *m);
/* dst (freed first) becomes a copy of src. */
void sched_tpmap_copy(sched_tpmap *dst, const sched_tpmap *src);
/* Makes room for n entries at once (no doublings on the way there). */
void sched_tpmap_reserve(sched_tpmap *m, uint32_t n);

/* ---- cycle ---- */

enum { CODE_SUCCESS = 0, CODE_UNSCHEDULABLE = 1, CODE_UNRESOLVABLE = 2, CODE_SKIP = 3 };

#define SCHED_STATUS_MAX 16
typedef struct sched_status {
	uint8_t code;
	uint16_t n;
	uint16_t reasons[SCHED_STATUS_MAX];
} sched_status;

/* One failed node of a cycle (k8s: an entry of NodeToStatus). */
struct sched_nstatus {
	uint32_t node; /* scan position */
	uint8_t code;
	uint16_t n;
	uint32_t off; /* first reason index in rpool */
};

/* Appends the failure st of node index to r. */
void sched_result_record(sched_result *r, size_t node, const sched_status *st);
/* Interns reason in r; returns its index. */
uint16_t sched_result_reason(sched_result *r, const char *reason);
/* Forgets the statuses of the previous cycle. */
void sched_result_reset(sched_result *r);
void sched_scratch_free(void *scratch);

typedef struct spread_c {
	const sched_spread *c;
	uint32_t q; /* the count question (sched_snapshot.spread_q) */
	bool host;  /* topologyKey kubernetes.io/hostname */
	const sched_hstr *val; /* scratch: the key's value on the node at hand */
	int64_t self; /* 1 when the constraint's selector matches the pod itself */
	sched_tpmap counts;
	uint32_t domains;
	int64_t min;
	bool dirty;
} spread_c;

typedef struct sched_plugin sched_plugin;

typedef struct sched_cycle {
	const sched_snapshot *snap;
	const sched_pod *pod;
	const sched_profile *prof;
	sched_result *out;
	const sched_labels *pod_ns_labels;
	uint64_t rng;
	const sched_plugin *filters[16]; /* active after pre-filter, in order */
	uint32_t nfilters;
	/* NodeAffinity: k8s PreFilterResult from matchFields metadata.name */
	bool na_narrowed;
	sched_hstr *na_names;
	uint32_t na_nnames;
	/* InterPodAffinity */
	bool ipa_filter;
	sched_tpmap ipa_existing_anti, ipa_aff, ipa_anti;
	int64_t ipa_aff_nonzero; /* entries of ipa_aff not zero */
	bool ipa_existing_any;   /* some entry of ipa_existing_anti above zero */
	bool ipa_borrowed;       /* the three maps are the snapshot's kept counts: read only */
	/* with them, per node index: pairs above zero of ipa_anti and ipa_existing_anti the
	 * node carries (ipa_blk_n nodes) */
	const uint32_t *ipa_blk_anti, *ipa_blk_exist;
	uint32_t ipa_blk_n;
	/* the topology keys of ipa_existing_anti's entries above zero, when few (else
	 * ipa_nkeys is 0 and the filter looks up every label of the node) */
	sched_hstr ipa_keys[4];
	uint32_t ipa_nkeys;
	sched_tpmap ipa_score;
	/* PodTopologySpread */
	spread_c *spread;
	uint32_t nspread;
	spread_c *sspread; /* ScheduleAnyway constraints for scoring */
	uint32_t nsspread;
	sched_tpmap sspread_counts; /* k8s: TopologyPairToPodCounts, shared by constraints */
	double *sspread_w;
	uint8_t *sspread_ignored; /* per feasible index */
	/* ImageLocality */
	int64_t *img_nodes;
	/* Fit scoring resources, resolved once per cycle */
	struct sched_fitres *fres;
	size_t nfres;
} sched_cycle;

enum { RES_CPU, RES_MEM, RES_EPH, RES_SCALAR };

typedef struct sched_fitres {
	sched_hstr name;
	uint8_t kind;
	int64_t weight;
	int64_t pod_nz; /* the pod's request, non-zero defaults applied for cpu/memory */
} sched_fitres;

/* Records reason (copied if new) into st; sets st->code when stronger. */
void sched_status_add(sched_cycle *c, sched_status *st, uint8_t code, const char *reason);
uint64_t sched_rand(sched_cycle *c);

struct sched_plugin {
	const char *name;
	int default_weight; /* 0: no score */
	/* Pre-filter: CODE_SUCCESS, CODE_SKIP (no filter for this pod) or a rejection with
	 * st's reasons. */
	int (*prefilter)(sched_cycle *c, sched_status *st);
	int (*filter)(sched_cycle *c, const sched_ninfo *ni, sched_status *st);
	/* Pre-filter state updates for preemption dry runs (pod added to / removed from ni). */
	void (*add_pod)(sched_cycle *c, const sched_ninfo *ni, const sched_pod *p, int sign);
	/* Pre-score: false skips the score for this pod. */
	bool (*prescore)(sched_cycle *c, sched_ninfo *const *nodes, size_t n);
	int64_t (*score)(sched_cycle *c, const sched_ninfo *ni, size_t fi);
	void (*normalize)(sched_cycle *c, int64_t *scores, size_t n);
};

extern const sched_plugin sched_plugin_node_unschedulable, sched_plugin_node_name,
    sched_plugin_taints, sched_plugin_node_affinity, sched_plugin_node_ports, sched_plugin_fit,
    sched_plugin_volumes, sched_plugin_spread, sched_plugin_interpod, sched_plugin_balanced,
    sched_plugin_images;

/* k8s: DefaultNormalizeScore. */
void sched_normalize_default(int64_t *scores, size_t n, bool reverse);

/* Framework pieces shared with preemption. */
void sched_cycle_init(sched_cycle *c, const sched_snapshot *snap, const sched_pod *pod,
                      const sched_profile *prof, sched_result *out);
void sched_cycle_dispose(sched_cycle *c);
/* Runs the pre-filters; returns CODE_SUCCESS or a rejection with st. */
int sched_run_prefilters(sched_cycle *c, sched_status *st);
/* Runs the active filters on ni; returns the code (st filled on failure). */
int sched_run_filters(sched_cycle *c, const sched_ninfo *ni, sched_status *st);
void sched_cycle_add_pod(sched_cycle *c, const sched_ninfo *ni, const sched_pod *p, int sign);
/* k8s: FitError.Error(): "0/N nodes are available: <prefilter msg>." or the sorted
 * histogram of r's node reasons, nodes without a status counting as absent_reason (may be
 * NULL). Caller frees. */
char *sched_fit_message(const sched_result *r, size_t nall, const char *prefilter_msg,
                        const char *absent_reason);

#endif
