/* revision.c — ControllerRevision history helpers for the StatefulSet and DaemonSet
 * controllers (kube's pkg/controller/history and the getPatch/ComputeHash they use).
 * Not for: deciding which revision is current or when to roll (the controllers do that).
 */
#include "controllers/revision.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/client.h"
#include "base/json.h"
#include "base/util.h"

#define FNV32_OFFSET 2166136261u
#define FNV32_PRIME 16777619u

json_t *revision_patch(json_t *obj)
{
	json_t *tmpl = json_clone(json_path(obj, "spec.template"));
	if (!json_is_object(tmpl)) {
		json_decref(tmpl);
		tmpl = json_object();
	}
	json_object_set_new(tmpl, "$patch", json_string("replace"));
	return json_pack("{s:{s:o}}", "spec", "template", tmpl);
}

json_t *revision_template(json_t *rev)
{
	json_t *t = json_path(rev, "data.spec.template");
	return json_is_object(t) ? t : NULL;
}

json_t *revision_apply(json_t *obj, json_t *rev)
{
	json_t *out = json_clone(obj);
	json_t *t = revision_template(rev);
	if (!t)
		return out;
	/* k8s: "$patch": "replace" makes the saved template the whole new template. */
	json_t *copy = json_clone(t);
	json_object_del(copy, "$patch");
	json_object_set_new(json_obj_child(out, "spec"), "template", copy);
	return out;
}

void revision_safe_encode(const char *s, char *out)
{
	static const char alphanums[] = "bcdfghjklmnpqrstvwxz2456789";
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		out[i] = alphanums[(unsigned char)s[i] % (sizeof alphanums - 1)];
	out[n] = '\0';
}

static char *encode_sum(uint32_t sum)
{
	char dec[16], enc[16];
	snprintf(dec, sizeof dec, "%u", sum);
	revision_safe_encode(dec, enc);
	return xstrdup(enc);
}

/* Canonical bytes: compact JSON with sorted keys, as Go's json.Marshal of a map prints. */
static char *canonical(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	return s ? s : xstrdup("null");
}

char *revision_hash(json_t *data, const int64_t *probe)
{
	/* k8s: fnv.New32 (not 32a): multiply, then xor. */
	uint32_t h = FNV32_OFFSET;
	char *bytes = canonical(data);
	for (const unsigned char *p = (const unsigned char *)bytes; *p; p++) {
		h *= FNV32_PRIME;
		h ^= *p;
	}
	free(bytes);
	if (probe) {
		char num[32];
		snprintf(num, sizeof num, "%lld", (long long)*probe);
		for (const unsigned char *p = (const unsigned char *)num; *p; p++) {
			h *= FNV32_PRIME;
			h ^= *p;
		}
	}
	return encode_sum(h);
}

char *revision_template_hash(json_t *tmpl, json_t *collision)
{
	uint32_t h = FNV32_OFFSET;
	char *bytes = canonical(tmpl);
	for (const unsigned char *p = (const unsigned char *)bytes; *p; p++) {
		h ^= *p;
		h *= FNV32_PRIME;
	}
	free(bytes);
	if (json_is_integer(collision)) {
		/* k8s: binary.LittleEndian.PutUint32 into an 8-byte buffer, all 8 hashed. */
		uint32_t v = (uint32_t)json_integer_value(collision);
		unsigned char b[8] = {(unsigned char)v, (unsigned char)(v >> 8),
		                      (unsigned char)(v >> 16), (unsigned char)(v >> 24), 0, 0, 0, 0};
		for (size_t i = 0; i < sizeof b; i++) {
			h ^= b[i];
			h *= FNV32_PRIME;
		}
	}
	return encode_sum(h);
}

char *revision_name(const char *prefix, const char *hash)
{
	/* k8s: the prefix is cut to 223 bytes so the name fits in 253. */
	return xasprintf("%.223s-%s", prefix, hash);
}

int64_t revision_number(json_t *rev)
{
	return (int64_t)json_integer_value(json_object_get(rev, "revision"));
}

bool revision_data_equal(json_t *a, json_t *b)
{
	json_t *da = json_object_get(a, "data"), *db = json_object_get(b, "data");
	return da && db && json_equal(da, db);
}

static int cmp_revision(const void *x, const void *y)
{
	json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	int64_t ra = revision_number(a), rb = revision_number(b);
	return ra < rb ? -1 : ra > rb;
}

void revision_sort(json_t **revs, size_t n)
{
	/* Insertion sort keeps equal revisions in list (name) order, as sort.Stable does. */
	for (size_t i = 1; i < n; i++) {
		json_t *v = revs[i];
		size_t j = i;
		while (j > 0 && cmp_revision(&revs[j - 1], &v) > 0) {
			revs[j] = revs[j - 1];
			j--;
		}
		revs[j] = v;
	}
}

static json_t *patch_owner_refs(controller *c, json_t *rev, json_t *refs)
{
	const kind_desc *rk = controller_kind("apps", "controllerrevisions");
	const char *ns = json_path_str(rev, "metadata.namespace");
	const char *name = json_path_str(rev, "metadata.name");
	json_t *patch = json_pack("{s:{s:o, s:O}}", "metadata", "ownerReferences", refs, "uid",
	                          json_path(rev, "metadata.uid"));
	client_patch(c->srv, c->def->name, rk, ns, name, NULL, NULL, patch, NULL, NULL);
	json_decref(patch);
	return controller_get(c, rk, ns, name);
}

size_t revision_claim(controller *c, json_t *owner, const label_selector *sel, bool release,
                      json_t ***out)
{
	const kind_desc *rk = controller_kind("apps", "controllerrevisions");
	const char *ns = json_path_str(owner, "metadata.namespace");
	const char *uid = json_path_str(owner, "metadata.uid");
	bool owner_deleting = json_path(owner, "metadata.deletionTimestamp") != NULL;
	json_t **all;
	size_t n = controller_list(c, rk, ns, &all);
	json_t **mine = xcalloc(n ? n : 1, sizeof *mine);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *r = all[i];
		json_t *ref = controller_owner(r);
		bool matches = label_selector_matches(sel, json_path(r, "metadata.labels"));
		bool deleting = json_path(r, "metadata.deletionTimestamp") != NULL;
		if (ref && str_eq(json_string_value(json_object_get(ref, "uid")), uid)) {
			if (matches) {
				mine[k++] = json_incref(r);
			} else if (release && !deleting) {
				/* k8s: an owned revision the selector no longer matches is released. */
				json_decref(patch_owner_refs(c, r, json_array()));
			}
		} else if (!ref && matches && !deleting && !owner_deleting) {
			/* k8s: a matching orphan revision is adopted. */
			json_t *adopted = patch_owner_refs(c, r, json_pack("[o]", controller_owner_ref(owner)));
			json_t *aref = adopted ? controller_owner(adopted) : NULL;
			if (aref && str_eq(json_string_value(json_object_get(aref, "uid")), uid))
				mine[k++] = adopted;
			else
				json_decref(adopted);
		}
	}
	controller_list_free(all, n);
	revision_sort(mine, k);
	*out = mine;
	return k;
}

json_t *revision_create(controller *c, json_t *rev)
{
	const kind_desc *rk = controller_kind("apps", "controllerrevisions");
	const char *ns = json_path_str(rev, "metadata.namespace");
	client_create(c->srv, c->def->name, rk, ns, rev, NULL, NULL);
	json_t *got = controller_get(c, rk, ns, json_path_str(rev, "metadata.name"));
	if (got && !revision_data_equal(got, rev)) {
		json_decref(got);
		return NULL;
	}
	return got;
}

json_t *revision_renumber(controller *c, json_t *rev, int64_t number)
{
	const kind_desc *rk = controller_kind("apps", "controllerrevisions");
	const char *ns = json_path_str(rev, "metadata.namespace");
	const char *name = json_path_str(rev, "metadata.name");
	json_t *patch = json_pack("{s:I, s:{s:O}}", "revision", (json_int_t)number, "metadata",
	                          "resourceVersion", json_path(rev, "metadata.resourceVersion"));
	client_patch(c->srv, c->def->name, rk, ns, name, NULL, NULL, patch, NULL, NULL);
	json_decref(patch);
	json_t *got = controller_get(c, rk, ns, name);
	if (got && revision_number(got) != number) {
		json_decref(got);
		return NULL;
	}
	return got;
}

void revision_delete(controller *c, json_t *rev)
{
	client_delete(c->srv, c->def->name, controller_kind("apps", "controllerrevisions"),
	              json_path_str(rev, "metadata.namespace"), json_path_str(rev, "metadata.name"),
	              NULL, NULL, NULL);
}
