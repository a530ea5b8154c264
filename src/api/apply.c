/* apply.c — server-side apply and update tracking over metadata.managedFields.
 *
 * The steps follow kube-apiserver's field manager and structured-merge-diff's updater:
 * decode the entries, (apply) merge the configuration and prune what the applier dropped,
 * compare old and new to find conflicts and moved ownership, strip the metadata fields
 * kube never tracks, stamp times, cap the number of update entries, encode.
 *
 * Not for: the set algebra and typed walks (fieldset.c, fieldset_walk.c), or choosing
 * the manager name from the request (the handler's job: ?fieldManager= or user agent).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/apply.h"
#include "api/fieldset.h"
#include "api/patch.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/util.h"

#define OP_APPLY  "Apply"
#define OP_UPDATE "Update"

typedef struct mentry {
	char *manager, *operation, *api_version, *subresource;
	char *time; /* RFC 3339, or NULL */
	/* The fields, or NULL while only v1 has them: a stored entry is decoded when a write
	 * needs its set (mfields), not before; most writes only ask whether it meets the
	 * fields they change, which v1 answers as it is. */
	fieldset *set;
	/* The stored fieldsV1, while it still describes the entry (set NULL, or the set
	 * decoded from it: v1_of): written back as is instead of encoding the set again,
	 * which was most of tracking an update that leaves an entry's fields alone (every
	 * entry but the writer's). */
	json_t *v1;
	const fieldset *v1_of;
} mentry;

typedef struct mlist {
	mentry *e;
	size_t n, cap;
} mlist;

static void mentry_clear(mentry *m)
{
	free(m->manager);
	free(m->operation);
	free(m->api_version);
	free(m->subresource);
	free(m->time);
	fieldset_free(m->set);
	json_decref(m->v1);
	memset(m, 0, sizeof *m);
}

/* m's fields, decoded from its stored fieldsV1 on first use. */
static fieldset *mfields(mentry *m)
{
	if (m->set)
		return m->set;
	terr *err = NULL;
	m->set = m->v1 ? fieldset_from_v1(m->v1, &err) : NULL;
	terr_free(err);
	if (m->set)
		m->v1_of = m->set;
	else
		m->set = fieldset_new(); /* malformed: no fields, and v1 no longer used */
	return m->set;
}

/* Whether m has no fields (a stored fieldsV1 with a field is not empty). */
static bool mentry_empty(mentry *m)
{
	if (!m->set && json_object_size(m->v1) > 0 && !json_object_get(m->v1, "."))
		return false;
	return fieldset_empty(mfields(m));
}

/* Replaces m's set by s (taken); the stored fieldsV1 no longer describes it. */
static void mentry_set(mentry *m, fieldset *s)
{
	fieldset_free(m->set);
	m->set = s;
	json_decref(m->v1);
	m->v1 = NULL;
	m->v1_of = NULL;
}

static void mlist_free(mlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		mentry_clear(&l->e[i]);
	free(l->e);
	memset(l, 0, sizeof *l);
}

static void mlist_remove(mlist *l, size_t i)
{
	mentry_clear(&l->e[i]);
	memmove(&l->e[i], &l->e[i + 1], (l->n - i - 1) * sizeof *l->e);
	l->n--;
}

static bool nz_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* k8s: a manager is identified by name, operation and subresource, and for updates also
 * by API version (an applier keeps one entry across versions). */
static bool same_manager(const mentry *m, const char *manager, const char *op,
                         const char *api_version, const char *sub)
{
	return nz_eq(m->manager, manager) && nz_eq(m->operation, op) &&
	       nz_eq(m->subresource, sub) &&
	       (str_eq(op, OP_APPLY) || nz_eq(m->api_version, api_version));
}

static long mlist_find(const mlist *l, const char *manager, const char *op, const char *api_version,
                       const char *sub)
{
	for (size_t i = 0; i < l->n; i++)
		if (same_manager(&l->e[i], manager, op, api_version, sub))
			return (long)i;
	return -1;
}

static mentry *mlist_add(mlist *l, const char *manager, const char *op, const char *api_version,
                         const char *sub)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4;
		l->e = xrealloc(l->e, l->cap * sizeof *l->e);
	}
	mentry *m = &l->e[l->n++];
	*m = (mentry){.manager = xstrdup(manager),
	              .operation = xstrdup(op),
	              .api_version = xstrdup(api_version),
	              .subresource = sub && *sub ? xstrdup(sub) : NULL,
	              .set = fieldset_new()};
	return m;
}

/* ---- managedFields <-> entries ---- */

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Decodes metadata.managedFields of obj. Malformed entries are skipped; entries of the
 * same manager are merged. stored: mf is as the server wrote it (encode's own output), so
 * an entry's fieldsV1 can be written back unchanged while its set stays the same. */
static void decode(json_t *mf, mlist *out, bool stored)
{
	size_t i;
	json_t *e;
	json_array_foreach(mf, i, e)
	{
		json_t *v1 = json_object_get(e, "fieldsV1");
		const char *ft = jstr(e, "fieldsType");
		if (!json_is_object(e) || (ft && !str_eq(ft, "FieldsV1")))
			continue;
		const char *mgr = jstr(e, "manager"), *op = jstr(e, "operation");
		const char *av = jstr(e, "apiVersion"), *sub = jstr(e, "subresource");
		long at = mlist_find(out, mgr, op, av, sub);
		if (at < 0 && stored && json_is_object(v1)) {
			mentry *m = mlist_add(out, mgr, op, av, sub);
			mentry_set(m, NULL);
			m->v1 = json_incref(v1);
		} else {
			terr *err = NULL;
			fieldset *s = v1 ? fieldset_from_v1(v1, &err) : fieldset_new();
			terr_free(err);
			if (!s)
				continue;
			mentry *m = at >= 0 ? &out->e[at] : mlist_add(out, mgr, op, av, sub);
			mentry_set(m, fieldset_union(mfields(m), s));
			fieldset_free(s);
		}
		mentry *m = &out->e[at >= 0 ? (size_t)at : out->n - 1];
		if (!m->time)
			m->time = xstrdup(jstr(e, "time"));
	}
}

static int64_t time_secs(const char *t)
{
	int64_t ns = 0;
	if (!t || time_parse_rfc3339(t, &ns) < 0)
		return 0;
	return ns / 1000000000;
}

/* k8s: entries sort by operation, time (seconds), manager, API version, subresource. */
static int cmp_entries(const void *a, const void *b)
{
	const mentry *p = a, *q = b;
	int c = strcmp(p->operation ? p->operation : "", q->operation ? q->operation : "");
	if (c)
		return c;
	int64_t ps = time_secs(p->time), qs = time_secs(q->time);
	if (ps != qs)
		return ps < qs ? -1 : 1;
	if ((c = strcmp(p->manager ? p->manager : "", q->manager ? q->manager : "")))
		return c;
	if ((c = strcmp(p->api_version ? p->api_version : "",
	                q->api_version ? q->api_version : "")))
		return c;
	return strcmp(p->subresource ? p->subresource : "", q->subresource ? q->subresource : "");
}

static json_t *encode(mlist *l)
{
	qsort(l->e, l->n, sizeof *l->e, cmp_entries);
	json_t *arr = json_array();
	for (size_t i = 0; i < l->n; i++) {
		const mentry *m = &l->e[i];
		json_t *o = json_object();
		if (m->manager && *m->manager)
			json_object_set_new(o, "manager", json_string(m->manager));
		if (m->operation)
			json_object_set_new(o, "operation", json_string(m->operation));
		if (m->api_version && *m->api_version)
			json_object_set_new(o, "apiVersion", json_string(m->api_version));
		if (m->time)
			json_object_set_new(o, "time", json_string(m->time));
		json_object_set_new(o, "fieldsType", json_string("FieldsV1"));
		bool as_stored = m->v1 && (!m->set || m->v1_of == m->set);
		json_object_set_new(o, "fieldsV1",
		                    as_stored ? json_incref(m->v1) : fieldset_to_v1(m->set));
		if (m->subresource)
			json_object_set_new(o, "subresource", json_string(m->subresource));
		json_array_append_new(arr, o);
	}
	return arr;
}

/* Sets (or removes, when empty) obj.metadata.managedFields. */
static void store(json_t *obj, mlist *l)
{
	if (!l->n) {
		json_object_del(json_object_get(obj, "metadata"), "managedFields");
		return;
	}
	json_object_set_new(json_obj_child(obj, "metadata"), "managedFields", encode(l));
}

/* A copy of obj without metadata.managedFields (NULL stays NULL). */
static json_t *without_managed(json_t *obj)
{
	if (!obj)
		return NULL;
	json_t *c = json_clone(obj);
	json_object_del(json_object_get(c, "metadata"), "managedFields");
	return c;
}

/* The same for reading only (tracking compares, never changes): the object and its
 * metadata are copied, everything below them is shared with obj; obj itself (a reference)
 * when it has no managed fields, as a create's body mostly has not. A deep copy of both
 * sides of every update was a tenth of a pod status write's cost. */
static json_t *without_managed_view(json_t *obj)
{
	if (!obj)
		return NULL;
	json_t *meta = json_object_get(obj, "metadata");
	if (!json_is_object(meta) || !json_object_get(meta, "managedFields"))
		return json_incref(obj);
	json_t *c = json_copy(obj);
	json_t *m = json_copy(meta);
	json_object_del(m, "managedFields");
	json_object_set_new(c, "metadata", m);
	return c;
}

/* ---- filters ---- */

/* k8s: the metadata fields kube never records as owned (stripped from the writer's set),
 * as FieldsV1 keys ("f:" and the name). */
static const char *const STRIP_META[] = {
    "f:name", "f:namespace", "f:creationTimestamp", "f:selfLink",       "f:uid",
    "f:clusterName", "f:generation", "f:managedFields", "f:resourceVersion"};

/* Those, apiVersion, kind and metadata itself, as a set. */
static fieldset *strip_set(void)
{
	fieldset *s = fieldset_new();
	fs_pe p[2] = {{.kind = 'f', .name = "apiVersion"}, {.kind = 'f', .name = "metadata"}};
	fieldset_insert(s, p, 1);
	p[0].name = "kind";
	fieldset_insert(s, p, 1);
	p[0].name = "metadata";
	fieldset_insert(s, p, 1);
	for (size_t i = 0; i < ARRAY_SIZE(STRIP_META); i++) {
		p[1] = (fs_pe){.kind = 'f', .name = (char *)STRIP_META[i] + 2};
		fieldset_insert(s, p, 2);
	}
	return s;
}

/* strip for a FieldsV1 object (v1_create's): the same paths lose their member mark. */
static void v1_unmember(json_t *node, const char *key)
{
	json_t *c = json_object_get(node, key);
	if (!c)
		return;
	json_object_del(c, "."); /* a member with children keeps them */
	if (!json_object_size(c))
		json_object_del(node, key);
}

static void strip_v1(json_t *v1)
{
	v1_unmember(v1, "f:apiVersion");
	v1_unmember(v1, "f:kind");
	json_t *m = json_object_get(v1, "f:metadata");
	for (size_t i = 0; m && i < ARRAY_SIZE(STRIP_META); i++)
		v1_unmember(m, STRIP_META[i]);
	v1_unmember(v1, "f:metadata");
}

static fieldset *g_strip;

static void strip_init(void)
{
	g_strip = strip_set();
}

static void strip(fieldset **s)
{
	/* Built once: the same paths for every write, never changed. */
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, strip_init);
	fieldset *r = fieldset_difference(*s, g_strip);
	fieldset_free(*s);
	*s = r;
}

typedef struct keep_ctx {
	fieldset *out;
	const char *top;
} keep_ctx;

static void keep_top(const fs_pe *path, size_t n, void *ud)
{
	keep_ctx *k = ud;
	if (path[0].kind == 'f' && str_eq(path[0].name, k->top))
		fieldset_insert(k->out, path, n);
}

/* k8s: the reset fields of a write: through the main resource "status" is not tracked
 * (the status strategy owns it); through "status" only status is. */
static void filter(fieldset **s, const fs_type *rt, const char *sub)
{
	if (!sub) {
		if (fs_type_declares(rt, "status"))
			fieldset_drop_field(*s, "status");
		return;
	}
	if (str_eq(sub, "status")) {
		keep_ctx k = {fieldset_new(), "status"};
		fieldset_iterate(*s, keep_top, &k);
		fieldset_free(*s);
		*s = k.out;
	}
}

/* Whether the write has reset fields (filter's). They are always a whole top-level member
 * (status, or all but status), so an update's compare leaves them out of both sides
 * (scoped_view) instead of filtering its result. */
static bool scoped(const fs_type *rt, const char *sub)
{
	return sub ? str_eq(sub, "status") : fs_type_declares(rt, "status");
}

/* obj as filter would see it after the compare (a view sharing its members: read only),
 * or NULL when it is obj itself (NULL stays NULL). */
static json_t *scoped_view(json_t *obj, const fs_type *rt, const char *sub)
{
	if (!json_is_object(obj) || !scoped(rt, sub))
		return NULL;
	json_t *st = json_object_get(obj, "status");
	if (sub) {
		json_t *v = json_object();
		if (st)
			json_object_set(v, "status", st);
		return v;
	}
	if (!st)
		return NULL;
	json_t *v = json_copy(obj);
	json_object_del(v, "status");
	return v;
}

/* ---- conflicts ---- */

static void print_manager(buf *b, const mentry *m)
{
	buf_json_str(b, m->manager ? m->manager : "", m->manager ? strlen(m->manager) : 0);
	if (m->subresource) {
		buf_puts(b, " with subresource ");
		buf_json_str(b, m->subresource, strlen(m->subresource));
	}
	if (str_eq(m->operation, OP_UPDATE))
		buf_printf(b, " using %s", m->api_version ? m->api_version : "");
}

typedef struct conflict {
	const mentry *m;
	fieldset *set;
} conflict;

typedef struct path_list {
	char **p;
	size_t n;
} path_list;

static void collect_path(const fs_pe *path, size_t n, void *ud)
{
	path_list *l = ud;
	buf b = {0};
	fs_path_string(&b, path, n);
	l->p = xrealloc(l->p, (l->n + 1) * sizeof *l->p);
	l->p[l->n++] = buf_take(&b);
}

static int cmp_conflicts(const void *a, const void *b)
{
	const conflict *x = a, *y = b;
	int c = strcmp(x->m->manager ? x->m->manager : "", y->m->manager ? y->m->manager : "");
	return c ? c : cmp_entries(x->m, y->m);
}

/* k8s: 409 Conflict, one FieldManagerConflict cause per field, message as kube prints it. */
static int conflict_error(conflict *cs, size_t ncs, terr **err)
{
	qsort(cs, ncs, sizeof *cs, cmp_conflicts);
	path_list *paths = xcalloc(ncs, sizeof *paths);
	size_t total = 0;
	for (size_t i = 0; i < ncs; i++) {
		fieldset_iterate(cs[i].set, collect_path, &paths[i]);
		total += paths[i].n;
	}
	_cleanup_buf_ buf msg = {0};
	if (total == 1) {
		buf_puts(&msg, "Apply failed with 1 conflict: conflict with ");
		print_manager(&msg, cs[0].m);
		buf_printf(&msg, ": %s", paths[0].p[0]);
	} else {
		buf_printf(&msg, "Apply failed with %zu conflicts: ", total);
		for (size_t i = 0; i < ncs; i++) {
			buf_puts(&msg, i ? "\nconflicts with " : "conflicts with ");
			print_manager(&msg, cs[i].m);
			buf_putc(&msg, ':');
			for (size_t j = 0; j < paths[i].n; j++)
				buf_printf(&msg, "\n- %s", paths[i].p[j]);
		}
	}
	terr_set(err, 409, "Conflict", "%s", msg.p);
	for (size_t i = 0; i < ncs; i++) {
		_cleanup_buf_ buf who = {0};
		print_manager(&who, cs[i].m);
		for (size_t j = 0; j < paths[i].n; j++) {
			terr_cause_add(err, "FieldManagerConflict", paths[i].p[j],
			               "conflict with %s", who.p);
			free(paths[i].p[j]);
		}
		free(paths[i].p);
	}
	free(paths);
	return -1;
}

/* ---- the updater ---- */

/* structured-merge-diff's update(): compares old and new, takes fields the write changed
 * from every manager but `self` (a conflict unless force) and fields it removed from all
 * of them. On success fills *changed (added or modified, filtered) and *removed. */
static int smd_update(json_t *old, json_t *newer, const fs_type *rt, const char *sub, mlist *ms,
                      long self, bool force, fieldset **changed, fieldset **removed, terr **err)
{
	_cleanup_fieldset_ fieldset *added = fieldset_new(), *modified = fieldset_new();
	fieldset *rem = fieldset_new();
	/* The write's reset fields are not compared at all: what filter would drop. */
	_cleanup_json_ json_t *o = scoped_view(old, rt, sub), *n = scoped_view(newer, rt, sub);
	fs_object_compare(o ? o : old, n ? n : newer, rt, added, modified, rem);
	fieldset *am;
	if (fieldset_empty(modified)) { /* a create's: all added */
		am = added;
		added = NULL;
	} else {
		am = fieldset_union(added, modified);
	}
	conflict *cs = xcalloc(ms->n + 1, sizeof *cs);
	size_t ncs = 0;
	for (size_t i = 0; i < ms->n; i++) {
		if ((long)i == self || (!ms->e[i].set && !fieldset_meets_v1(am, ms->e[i].v1)))
			continue;
		fieldset *c = fieldset_intersection(mfields(&ms->e[i]), am);
		if (fieldset_empty(c))
			fieldset_free(c);
		else
			cs[ncs++] = (conflict){&ms->e[i], c};
	}
	int r = 0;
	if (ncs && !force) {
		r = conflict_error(cs, ncs, err);
	} else {
		for (size_t i = 0; i < ncs; i++) {
			mentry *m = (mentry *)cs[i].m;
			mentry_set(m, fieldset_difference(m->set, cs[i].set));
		}
		for (size_t i = 0; i < ms->n && !fieldset_empty(rem); i++) {
			mentry *m = &ms->e[i];
			if ((long)i == self || (!m->set && !fieldset_meets_v1(rem, m->v1)))
				continue;
			mentry_set(m, fieldset_difference(mfields(m), rem));
		}
	}
	for (size_t i = 0; i < ncs; i++)
		fieldset_free(cs[i].set);
	free(cs);
	if (r < 0) {
		fieldset_free(am);
		fieldset_free(rem);
		return -1;
	}
	*changed = am;
	*removed = rem;
	return 0;
}

/* Drops entries left without fields, except `keep`. Returns keep's new index. */
static long drop_empty(mlist *ms, long keep)
{
	for (size_t i = ms->n; i-- > 0;) {
		if ((long)i == keep || !mentry_empty(&ms->e[i]))
			continue;
		mlist_remove(ms, i);
		if ((long)i < keep)
			keep--;
	}
	return keep;
}

/* k8s: more than APPLY_MAX_UPDATE_MANAGERS update entries: the oldest merge, per API
 * version, into an "ancient-changes" entry. */
static void cap_updaters(mlist *ms)
{
	size_t nup = 0;
	for (size_t i = 0; i < ms->n; i++)
		nup += !str_eq(ms->e[i].operation, OP_APPLY);
	if (nup <= APPLY_MAX_UPDATE_MANAGERS)
		return;
	qsort(ms->e, ms->n, sizeof *ms->e, cmp_entries); /* Apply first, then updates by time */
	for (size_t i = 0; i < ms->n && nup > APPLY_MAX_UPDATE_MANAGERS;) {
		mentry *m = &ms->e[i];
		if (str_eq(m->operation, OP_APPLY) || str_eq(m->manager, "ancient-changes")) {
			i++;
			continue;
		}
		long b =
		    mlist_find(ms, "ancient-changes", OP_UPDATE, m->api_version, m->subresource);
		if (b < 0) {
			/* The oldest of its version becomes the bucket. */
			free(m->manager);
			m->manager = xstrdup("ancient-changes");
			i++;
			continue;
		}
		mentry_set(&ms->e[b], fieldset_union(mfields(&ms->e[b]), mfields(m)));
		free(ms->e[b].time);
		ms->e[b].time = xstrdup(m->time);
		mlist_remove(ms, i);
		nup--;
	}
}

/* A new entry whose fields are v1 (taken), written at now_ns; none when v1 is empty. */
static void add_v1_entry(mlist *ms, json_t *v1, const char *manager, const char *op,
                         const char *api_version, const char *sub, int64_t now_ns)
{
	if (!json_object_size(v1)) {
		json_decref(v1);
		return;
	}
	mentry *m = mlist_add(ms, manager, op, api_version, sub);
	mentry_set(m, NULL);
	m->v1 = v1;
	char ts[32];
	time_rfc3339(now_ns, false, ts);
	m->time = xstrdup(ts);
}

/* Whether an entry may own a path the compare of ov and nv can name: one under a member
 * either side has at the top (asked of its stored form; a decoded set is not looked at). */
static bool may_own_compared(const mentry *m, json_t *ov, json_t *nv)
{
	if (m->set)
		return true;
	json_t *sides[2] = {ov, nv};
	char fk[256];
	for (int i = 0; i < 2; i++) {
		const char *k;
		size_t kn;
		json_t *v;
		json_object_keylen_foreach(sides[i], k, kn, v)
		{
			if (kn + 3 > sizeof fk)
				return true;
			memcpy(fk, "f:", 2);
			memcpy(fk + 2, k, kn + 1);
			if (json_object_getn(m->v1, fk, kn + 2))
				return true;
		}
	}
	return false;
}

/* track() for a writer without an entry when no other entry may own anything the write
 * compares: nothing is taken from anyone, so the new entry is what the write added or
 * modified, written straight as FieldsV1 (a pod's first status write, whose tracking was
 * mostly the compare into sets and their encoding). False: not that case. */
static bool v1_first_update(json_t *old, json_t *newer, const fs_type *rt, mlist *ms,
                            const char *manager, const char *op, const char *api_version,
                            const char *sub, int64_t now_ns)
{
	_cleanup_json_ json_t *o = scoped_view(old, rt, sub), *n = scoped_view(newer, rt, sub);
	json_t *ov = o ? o : old, *nv = n ? n : newer;
	for (size_t i = 0; i < ms->n; i++)
		if (may_own_compared(&ms->e[i], ov, nv))
			return false;
	json_t *v1 = fs_object_changed_v1(ov, nv, rt);
	strip_v1(v1);
	drop_empty(ms, -1);
	add_v1_entry(ms, v1, manager, op, api_version, sub, now_ns);
	cap_updaters(ms);
	return true;
}

/* An update by (manager, op) from old to newer, recorded in ms (kube's field manager
 * Update through the managed-fields updater and strip-meta steps). */
static void track(json_t *old, json_t *newer, const fs_type *rt, mlist *ms, const char *manager,
                  const char *op, const char *api_version, const char *sub, int64_t now_ns)
{
	fieldset *changed = NULL, *removed = NULL;
	/* The writer's own entry takes what it changed and loses what it removed; set apart
	 * from the others, it keeps its stored form when that is all it had already. */
	long self = mlist_find(ms, manager, op, api_version, sub);
	if (self < 0 &&
	    v1_first_update(old, newer, rt, ms, manager, op, api_version, sub, now_ns))
		return;
	if (smd_update(old, newer, rt, sub, ms, self, true, &changed, &removed, NULL) < 0)
		return;
	if (self >= 0 && !fieldset_empty(removed)) {
		mentry *m = &ms->e[self];
		if (m->set || fieldset_meets_v1(removed, m->v1))
			mentry_set(m, fieldset_difference(mfields(m), removed));
	}
	fieldset_free(removed);
	strip(&changed);
	self = drop_empty(ms, self);
	if (!fieldset_empty(changed)) {
		mentry *m = self >= 0 ? &ms->e[self] : mlist_add(ms, manager, op, api_version, sub);
		/* the same fields as before (a heartbeat's): the set, and its stored form, stay */
		if (m->set && !m->v1 && fieldset_empty(m->set)) { /* a new entry: all of them */
			mentry_set(m, changed);
			changed = NULL;
		} else if (m->set || !fieldset_within_v1(changed, m->v1)) {
			_cleanup_fieldset_ fieldset *more = fieldset_difference(changed, mfields(m));
			if (!fieldset_empty(more))
				mentry_set(m, fieldset_union(m->set, changed));
		}
		char ts[32];
		time_rfc3339(now_ns, false, ts);
		free(m->time);
		m->time = xstrdup(ts);
	} else if (self >= 0 && mentry_empty(&ms->e[self])) {
		mlist_remove(ms, (size_t)self);
	}
	fieldset_free(changed);
	cap_updaters(ms);
}

/* A create's stripped FieldsV1 for the walked view v: remembered by its shape
 * (fieldset_memo.c), built (fs_object_added_v1) and stripped otherwise. A reference. */
static json_t *create_v1(json_t *v, const fs_type *rt)
{
	fs_memo_miss miss;
	json_t *v1 = fs_memo_get(FS_MEMO_CREATE, v, rt, &miss);
	if (v1)
		return v1;
	v1 = fs_object_added_v1(v, rt);
	strip_v1(v1);
	fs_memo_put(FS_MEMO_CREATE, &miss, v1);
	return v1;
}

/* track(NULL, newer, ...) for a list without entries, with the writer's fields written
 * straight as FieldsV1 (fs_object_added_v1) instead of compared into a set, stripped and
 * encoded: the same entry, at a fraction of a create's cost. */
static void v1_create(json_t *newer, const fs_type *rt, mlist *ms, const char *manager,
                      const char *op, const char *api_version, const char *sub, int64_t now_ns)
{
	_cleanup_json_ json_t *n = scoped_view(newer, rt, sub);
	add_v1_entry(ms, create_v1(n ? n : newer, rt), manager, op, api_version, sub, now_ns);
}

void apply_track_update_subresource(json_t *old, json_t *obj, const schema_type *t,
                                    json_t *crd_schema, const char *manager, const char *operation,
                                    const char *api_version, const char *subresource,
                                    int64_t now_ns)
{
	if (!json_is_object(obj))
		return;
	fs_type rt = fs_type_root(t, crd_schema);
	mlist ms = {0};
	json_t *sent = json_path(obj, "metadata.managedFields");
	/* k8s: [] or [{}] resets; managedFields sent with the object win when they decode to
	 * something; else the live ones stay. A subresource write always keeps the live ones. */
	bool reset = json_is_array(sent) &&
	             (json_array_size(sent) == 0 ||
	              (json_array_size(sent) == 1 && json_is_object(json_array_get(sent, 0)) &&
	               json_object_size(json_array_get(sent, 0)) == 0));
	if (!reset) {
		json_t *live = json_path(old, "metadata.managedFields");
		if (!subresource)
			decode(sent, &ms, sent == live || json_equal(sent, live));
		if (!ms.n)
			decode(live, &ms, true);
	}
	if (!ms.n && old) {
		/* k8s: objects that have no managedFields are not tracked on update. */
		json_object_del(json_object_get(obj, "metadata"), "managedFields");
		return;
	}
	_cleanup_json_ json_t *old0 = without_managed_view(old), *new0 = without_managed_view(obj);
	if (!ms.n) { /* a create with no entries: one, whose fields are all the object's */
		v1_create(new0, &rt, &ms, manager, operation ? operation : OP_UPDATE, api_version,
		          subresource, now_ns);
		store(obj, &ms);
		mlist_free(&ms);
		return;
	}
	track(old0, new0, &rt, &ms, manager, operation ? operation : OP_UPDATE, api_version,
	      subresource, now_ns);
	store(obj, &ms);
	mlist_free(&ms);
}

void apply_track_update(json_t *old, json_t *obj, const schema_type *t, json_t *crd_schema,
                        const char *manager, const char *operation, const char *api_version,
                        int64_t now_ns)
{
	apply_track_update_subresource(old, obj, t, crd_schema, manager, operation, api_version,
	                               NULL, now_ns);
}

/* ---- apply ---- */

/* structured-merge-diff's prune: drop what the applier applied last time (lastset) and no
 * longer does, unless someone owns it, without dropping unowned fields that only happened
 * to sit under it. */
static json_t *prune(json_t *merged, const mlist *ms, const fieldset *lastset, const fs_type *rt)
{
	if (!lastset || fieldset_empty(lastset))
		return json_incref(merged);
	_cleanup_fieldset_ fieldset *last = fs_named_fields_members(lastset, rt);
	_cleanup_json_ json_t *pruned1 = fs_object_remove(merged, last, rt);
	_cleanup_fieldset_ fieldset *all = fieldset_new();
	for (size_t i = 0; i < ms->n; i++) {
		fieldset *u = fieldset_union(all, mfields(&ms->e[i]));
		fieldset_free(all);
		all = u;
	}
	_cleanup_fieldset_ fieldset *owned = fs_named_fields_members(all, rt);
	_cleanup_fieldset_ fieldset *mset0 = fs_object_fields(merged, rt, false, NULL);
	_cleanup_fieldset_ fieldset *p1set0 = fs_object_fields(pruned1, rt, false, NULL);
	_cleanup_fieldset_ fieldset *mset = fs_named_fields_members(mset0, rt);
	_cleanup_fieldset_ fieldset *p1set = fs_named_fields_members(p1set0, rt);
	/* Add back what somebody owns. */
	_cleanup_fieldset_ fieldset *keep = fieldset_union(p1set, owned);
	_cleanup_fieldset_ fieldset *drop = fieldset_difference(mset, keep);
	_cleanup_json_ json_t *pruned2 = fs_object_remove(merged, drop, rt);
	/* Add back what the applier never owned (it only sat under a removed node). */
	_cleanup_fieldset_ fieldset *p2set0 = fs_object_fields(pruned2, rt, false, NULL);
	_cleanup_fieldset_ fieldset *p2set = fs_named_fields_members(p2set0, rt);
	_cleanup_fieldset_ fieldset *gone = fieldset_difference(mset, p2set);
	_cleanup_fieldset_ fieldset *final = fieldset_intersection(gone, last);
	return fs_object_remove(merged, final, rt);
}

/* The apply proper, on decoded entries ms; returns the new object without managedFields
 * stored (caller owns) or NULL. */
static json_t *apply_body(json_t *live, json_t *live0, json_t *cfg, const fs_type *rt, mlist *ms,
                          const char *manager, const char *api_version, const char *sub, bool force,
                          int64_t now_ns, terr **err)
{
	fieldset *cfgset = fs_object_fields(cfg, rt, true, err);
	if (!cfgset)
		return NULL;
	filter(&cfgset, rt, sub);
	_cleanup_json_ json_t *merged = fs_object_merge(live0, cfg, rt, err);
	if (!merged) {
		fieldset_free(cfgset);
		return NULL;
	}
	long self = mlist_find(ms, manager, OP_APPLY, api_version, sub);
	if (self < 0) {
		mlist_add(ms, manager, OP_APPLY, api_version, sub);
		self = (long)ms->n - 1;
	}
	mentry *me = &ms->e[self];
	_cleanup_fieldset_ fieldset *lastset = mfields(me);
	me->set = cfgset;
	json_decref(me->v1);
	me->v1 = NULL;
	me->v1_of = NULL;
	free(me->api_version);
	me->api_version = xstrdup(api_version);
	_cleanup_json_ json_t *pruned = prune(merged, ms, lastset, rt);

	fieldset *changed = NULL, *removed = NULL;
	if (smd_update(live0, pruned, rt, sub, ms, self, force, &changed, &removed, err) < 0)
		return NULL;
	fieldset_free(changed);
	fieldset_free(removed);
	self = drop_empty(ms, self);
	me = &ms->e[self];
	strip(&me->set);
	json_decref(me->v1);
	me->v1 = NULL;
	me->v1_of = NULL;
	/* k8s: a no-op apply leaves the applier's time alone. */
	if (!live || !patch_json_equal(live0, pruned) || !me->time) {
		char ts[32];
		time_rfc3339(now_ns, false, ts);
		free(me->time);
		me->time = xstrdup(ts);
	}
	if (fieldset_empty(me->set))
		mlist_remove(ms, (size_t)self);
	return json_clone(pruned);
}

json_t *apply_ssa_subresource(json_t *live, json_t *applied, const schema_type *t,
                              json_t *crd_schema, const char *manager, const char *api_version,
                              const char *subresource, bool force, int64_t now_ns, terr **err)
{
	if (!json_is_object(applied)) {
		terr_bad_request(err,
		                 "error decoding YAML: the applied configuration is not an object");
		return NULL;
	}
	json_t *mf = json_path(applied, "metadata.managedFields");
	if (mf && !json_is_null(mf)) {
		terr_bad_request(err, "metadata.managedFields must be nil");
		return NULL;
	}
	const char *av = json_string_value(json_object_get(applied, "apiVersion"));
	if (av && api_version && !str_eq(av, api_version)) {
		terr_bad_request(
		    err,
		    "Incorrect version specified in apply patch. Specified patch version: "
		    "%s, expected: %s",
		    av, api_version);
		return NULL;
	}
	fs_type rt = fs_type_root(t, crd_schema);
	mlist ms = {0};
	decode(json_path(live, "metadata.managedFields"), &ms, true);
	_cleanup_json_ json_t *live0 = live ? without_managed(live) : json_object();
	_cleanup_json_ json_t *cfg = json_clone(applied);
	json_object_del(json_object_get(cfg, "metadata"), "managedFields");

	/* k8s: the first apply to an object with no managedFields hands its existing fields to
	 * "before-first-apply". */
	if (!ms.n && live)
		track(NULL, live0, &rt, &ms, "before-first-apply", OP_UPDATE, api_version,
		      subresource, now_ns);
	json_t *result = apply_body(live, live0, cfg, &rt, &ms, manager, api_version, subresource,
	                            force, now_ns, err);
	if (result)
		store(result, &ms);
	mlist_free(&ms);
	return result;
}

json_t *apply_ssa(json_t *live, json_t *applied, const schema_type *t, json_t *crd_schema,
                  const char *manager, const char *api_version, bool force, int64_t now_ns,
                  terr **err)
{
	return apply_ssa_subresource(live, applied, t, crd_schema, manager, api_version, NULL,
	                             force, now_ns, err);
}
