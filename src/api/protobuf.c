/* protobuf.c — the envelope of Kubernetes protobuf bodies: "k8s\0" then runtime.Unknown
 * {typeMeta = 1 {apiVersion = 1, kind = 2}, raw = 2, contentEncoding = 3,
 * contentType = 4}, whose raw field is the object's message. Finds the object's type by
 * group/version/kind in the schema table and hands raw to pb_decode.c / pb_encode.c.
 * Not for: the messages themselves, or deciding when to speak protobuf (apiserver).
 */
#include "api/protobuf.h"

#include <string.h>

#include "api/pb-internal.h"
#include "base/util.h"

/* Splits "group/version" (or "version" for the core group) into owned strings. */
static int split_api_version(const char *av, char **group, char **version)
{
	const char *slash = strchr(av, '/');
	if (!slash) {
		*group = xstrdup("");
		*version = xstrdup(av);
	} else {
		if (strchr(slash + 1, '/'))
			return -1;
		*group = xstrndup(av, (size_t)(slash - av));
		*version = xstrdup(slash + 1);
	}
	return **version ? 0 : -1;
}

/* The schema type of group/version/kind, or NULL. */
static const schema_type *find_type(const char *group, const char *version, const char *kind)
{
	const schema_type *t = schema_find_gvk(group, version, kind);
	if (t)
		return t;
	/* k8s: metav1's shared kinds (DeleteOptions, CreateOptions, WatchEvent, ...) are registered
	 * in every group version (metav1.AddToGroupVersion), so a client of apps/v1 sends
	 * DeleteOptions as apiVersion apps/v1. */
	t = schema_find_gvk("", "v1", kind);
	if (t && str_has_prefix(t->name, "io.k8s.apimachinery.pkg.apis.meta.v1."))
		return t;
	return NULL;
}

/* Reads a string field of the envelope into an owned C string; rejects NUL bytes. */
static int env_string(const pb_wfield *f, const char *what, char **out, terr **err)
{
	if (f->wt != PB_WT_LEN)
		return terr_bad_request(err, "invalid protobuf envelope: %s: wrong wire type", what);
	if (memchr(f->data, 0, f->len))
		return terr_bad_request(err, "invalid protobuf envelope: %s contains a NUL byte", what);
	free(*out);
	*out = xstrndup((const char *)f->data, f->len);
	return 0;
}

static int read_type_meta(const pb_wfield *tm, char **api_version, char **kind, terr **err)
{
	pb_iter it;
	pb_wfield f;
	int r;
	if (tm->wt != PB_WT_LEN)
		return terr_bad_request(err, "invalid protobuf envelope: typeMeta: wrong wire type");
	pb_iter_init(&it, tm->data, tm->len, "TypeMeta");
	while ((r = pb_iter_next(&it, &f, err)) > 0) {
		if (f.num == 1 && f.wt != PB_WT_SGROUP && env_string(&f, "apiVersion", api_version, err) < 0)
			return -1;
		if (f.num == 2 && f.wt != PB_WT_SGROUP && env_string(&f, "kind", kind, err) < 0)
			return -1;
	}
	return r;
}

json_t *pb_decode_object(const uint8_t *data, size_t n, terr **err)
{
	_cleanup_free_ char *api_version = NULL, *kind = NULL, *group = NULL, *version = NULL;
	const uint8_t *raw = NULL;
	size_t rawn = 0;
	pb_iter it;
	pb_wfield f;
	int r;
	if (n < PB_MAGIC_LEN || memcmp(data, PB_MAGIC, PB_MAGIC_LEN) != 0) {
		terr_bad_request(err, "protobuf body does not start with the \"k8s\\0\" prefix");
		return NULL;
	}
	pb_iter_init(&it, data + PB_MAGIC_LEN, n - PB_MAGIC_LEN, "runtime.Unknown");
	while ((r = pb_iter_next(&it, &f, err)) > 0) {
		if (f.wt == PB_WT_SGROUP || f.num > 4)
			continue; /* unknown fields (contentEncoding 3, contentType 4 unused) */
		if (f.wt != PB_WT_LEN) {
			terr_bad_request(err, "invalid protobuf envelope: field %u: wrong wire type",
			                 (unsigned)f.num);
			return NULL;
		}
		if (f.num == 1 && read_type_meta(&f, &api_version, &kind, err) < 0)
			return NULL;
		if (f.num == 2) {
			raw = f.data;
			rawn = f.len;
		}
	}
	if (r < 0)
		return NULL;
	/* k8s: a body without kind or apiVersion is a 400 (runtime.NewMissingKindErr). */
	if (!kind || !*kind) {
		terr_bad_request(err, "Object 'Kind' is missing in the protobuf body");
		return NULL;
	}
	if (!api_version || split_api_version(api_version, &group, &version) < 0) {
		terr_bad_request(err, "Object 'apiVersion' is missing or invalid in the protobuf body");
		return NULL;
	}
	const schema_type *t = find_type(group, version, kind);
	if (!t) {
		terr_set(err, 415, "UnsupportedMediaType",
		         "the protobuf body holds %s, %s, which has no protobuf form on this server",
		         api_version, kind);
		return NULL;
	}
	json_t *o = json_object();
	json_object_set_new(o, "kind", pb_json_string((const uint8_t *)kind, strlen(kind)));
	json_object_set_new(o, "apiVersion",
	                    pb_json_string((const uint8_t *)api_version, strlen(api_version)));
	if (pb_decode_fields(raw, rawn, t, o, err) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int pb_encode_object(json_t *obj, buf *out, terr **err)
{
	_cleanup_free_ char *group = NULL, *version = NULL;
	const char *av = json_string_value(json_object_get(obj, "apiVersion"));
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	if (!av || !kind || !*kind || split_api_version(av, &group, &version) < 0)
		return terr_internal(err, "cannot encode as protobuf: object has no apiVersion or kind");
	const schema_type *t = find_type(group, version, kind);
	if (!t)
		return terr_set(err, 406, "NotAcceptable", "%s, %s has no protobuf form; ask for JSON",
		                av, kind);
	_cleanup_buf_ buf tm = {0};
	_cleanup_buf_ buf raw = {0};
	if (pb_encode_message(obj, t, &raw, err) < 0)
		return -1;
	pb_put_len(&tm, 1, av, strlen(av));
	pb_put_len(&tm, 2, kind, strlen(kind));
	buf_add(out, PB_MAGIC, PB_MAGIC_LEN);
	pb_put_len(out, 1, tm.p, tm.n);
	pb_put_len(out, 2, raw.p, raw.n);
	pb_put_len(out, 3, NULL, 0); /* contentEncoding "" */
	pb_put_len(out, 4, NULL, 0); /* contentType "" */
	return 0;
}
