/* image_manifest.c — the documents of an image: manifests and indexes (OCI image spec and
 * Docker schema 2 / manifest lists), platform selection, image configs; plus the sha256
 * helpers every image file uses. Pure parsing: no I/O.
 * Not for: fetching (image_client.c) or storing (image_store.c) them. */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "agent/image-internal.h"
#include "agent/image_ref.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/util.h"

/* ---- sha256 ---- */

struct image_sha256 {
	EVP_MD_CTX *ctx;
};

image_sha256 *image_sha256_new(void)
{
	image_sha256 *h = xmalloc(sizeof *h);
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
		abort();
	return h;
}

void image_sha256_update(image_sha256 *h, const void *p, size_t n)
{
	if (n && EVP_DigestUpdate(h->ctx, p, n) != 1)
		abort();
}

char *image_sha256_finish(image_sha256 *h)
{
	unsigned char md[32];
	unsigned int len = 0;
	if (EVP_DigestFinal_ex(h->ctx, md, &len) != 1 || len != 32)
		abort();
	image_sha256_free(h);
	char *out = xmalloc(7 + 64 + 1);
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++) {
		out[7 + 2 * i] = "0123456789abcdef"[md[i] >> 4];
		out[8 + 2 * i] = "0123456789abcdef"[md[i] & 15];
	}
	out[71] = '\0';
	return out;
}

void image_sha256_free(image_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

char *image_sha256_digest(const void *p, size_t n)
{
	image_sha256 *h = image_sha256_new();
	image_sha256_update(h, p, n);
	return image_sha256_finish(h);
}

/* ---- manifests ---- */

static void desc_free(image_desc *d)
{
	free(d->media_type);
	free(d->digest);
	free(d->os);
	free(d->arch);
	free(d->variant);
	memset(d, 0, sizeof *d);
}

void image_manifest_free(image_manifest *m)
{
	if (!m)
		return;
	free(m->media_type);
	desc_free(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		desc_free(&m->layers[i]);
	for (size_t i = 0; i < m->n_manifests; i++)
		desc_free(&m->manifests[i]);
	free(m->layers);
	free(m->manifests);
	memset(m, 0, sizeof *m);
}

static int desc_parse(json_t *j, image_desc *d, const char *what, terr **err)
{
	const char *mt = json_string_value(json_object_get(j, "mediaType"));
	const char *dg = json_string_value(json_object_get(j, "digest"));
	json_t *size = json_object_get(j, "size");
	if (!json_is_object(j) || !image_digest_valid(dg) || !json_is_integer(size) ||
	    json_integer_value(size) < 0)
		return terr_bad_request(err, "invalid %s descriptor (want mediaType, a sha256 "
		                             "digest and a size)",
		                        what);
	d->media_type = xstrdup(mt ? mt : "");
	d->digest = xstrdup(dg);
	d->size = json_integer_value(size);
	json_t *plat = json_object_get(j, "platform");
	if (json_is_object(plat)) {
		d->os = xstrdup(json_string_value(json_object_get(plat, "os")));
		d->arch = xstrdup(json_string_value(json_object_get(plat, "architecture")));
		d->variant = xstrdup(json_string_value(json_object_get(plat, "variant")));
	}
	return 0;
}

int image_manifest_parse(const char *body, size_t n, const char *content_type,
                         image_manifest *out, terr **err)
{
	memset(out, 0, sizeof *out);
	json_error_t jerr;
	_cleanup_json_ json_t *root = json_loadb(body, n, 0, &jerr);
	if (!json_is_object(root))
		return terr_bad_request(err, "manifest is not a JSON object%s%s", root ? "" : ": ",
		                        root ? "" : jerr.text);
	const char *mt = json_string_value(json_object_get(root, "mediaType"));
	_cleanup_free_ char *ct = NULL;
	if (!mt && content_type) {
		ct = xstrdup(content_type);
		char *semi = strchr(ct, ';');
		if (semi)
			*semi = '\0';
		mt = ct;
	}
	json_t *manifests = json_object_get(root, "manifests");
	json_t *layers = json_object_get(root, "layers");
	/* An OCI manifest may omit mediaType; its shape then tells. */
	if (!mt || !*mt || str_eq(mt, "application/json") || str_eq(mt, "text/plain"))
		mt = json_is_array(manifests) ? MT_OCI_INDEX
		     : json_is_array(layers)  ? MT_OCI_MANIFEST
		                              : "";
	if (str_has_prefix(mt, MT_DOCKER_V1) || json_integer_value(json_object_get(root,
	                                                                           "schemaVersion")) == 1)
		return terr_bad_request(err, "Docker image manifest schema 1 is not supported "
		                             "(deprecated); push the image again with a current tool");
	out->media_type = xstrdup(mt);
	if (str_eq(mt, MT_OCI_INDEX) || str_eq(mt, MT_DOCKER_LIST)) {
		if (!json_is_array(manifests)) {
			image_manifest_free(out);
			return terr_bad_request(err, "index has no manifests array");
		}
		out->is_index = true;
		out->manifests = xcalloc(json_array_size(manifests) + 1, sizeof *out->manifests);
		size_t i;
		json_t *e;
		json_array_foreach(manifests, i, e) {
			if (desc_parse(e, &out->manifests[out->n_manifests], "index entry", err) < 0) {
				image_manifest_free(out);
				return -1;
			}
			out->n_manifests++;
		}
		return 0;
	}
	if (!str_eq(mt, MT_OCI_MANIFEST) && !str_eq(mt, MT_DOCKER_MANIFEST)) {
		image_manifest_free(out);
		return terr_bad_request(err, "unsupported manifest media type \"%s\"", mt);
	}
	if (desc_parse(json_object_get(root, "config"), &out->config, "config", err) < 0 ||
	    !json_is_array(layers)) {
		image_manifest_free(out);
		return terr_bad_request(err, "manifest has no layers array");
	}
	out->layers = xcalloc(json_array_size(layers) + 1, sizeof *out->layers);
	size_t i;
	json_t *e;
	json_array_foreach(layers, i, e) {
		if (desc_parse(e, &out->layers[out->n_layers], "layer", err) < 0) {
			image_manifest_free(out);
			return -1;
		}
		out->n_layers++;
	}
	return 0;
}

void image_host_platform(const char **os, const char **arch, const char **variant)
{
	struct utsname u;
	*os = "linux";
	*variant = NULL;
	*arch = "amd64";
	if (uname(&u) != 0)
		return;
	static const struct {
		const char *machine, *arch, *variant;
	} map[] = {
	    {"x86_64", "amd64", NULL},   {"aarch64", "arm64", NULL},   {"arm64", "arm64", NULL},
	    {"armv7l", "arm", "v7"},     {"armv6l", "arm", "v6"},      {"i686", "386", NULL},
	    {"i386", "386", NULL},       {"ppc64le", "ppc64le", NULL}, {"s390x", "s390x", NULL},
	    {"riscv64", "riscv64", NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (str_eq(u.machine, map[i].machine)) {
			*arch = map[i].arch;
			*variant = map[i].variant;
		}
}

int image_manifest_pick(const image_manifest *idx, const char *os, const char *arch,
                        const char *variant, terr **err)
{
	const char *hos, *harch, *hvar;
	image_host_platform(&hos, &harch, &hvar);
	if (!os)
		os = hos;
	if (!arch) {
		arch = harch;
		if (!variant)
			variant = hvar;
	}
	/* An exact variant wins; an entry without a variant is the next best (arm64 images
	 * rarely say v8), then the newest older variant; among equals the first listed. */
	int best = -1, best_score = -1;
	for (size_t i = 0; i < idx->n_manifests; i++) {
		const image_desc *d = &idx->manifests[i];
		if (!str_eq(d->os, os) || !str_eq(d->arch, arch))
			continue;
		int score;
		if (variant && str_eq(d->variant, variant))
			score = 1000;
		else if (!d->variant || !*d->variant || (!variant && str_eq(d->variant, "v8")))
			score = 500;
		else if (variant && strcmp(d->variant, variant) < 0)
			score = 100 + atoi(d->variant + 1); /* an older arm variant still runs:
			                                     * the newest of them */
		else
			continue;
		if (score > best_score) {
			best = (int)i;
			best_score = score;
		}
	}
	if (best < 0)
		return terr_set(err, 404, "ErrImagePull",
		                "no matching manifest for %s/%s%s%s in the manifest list entries", os,
		                arch, variant ? "/" : "", variant ? variant : "");
	return best;
}

/* ---- configs ---- */

static char **strv_from_json(json_t *arr)
{
	if (!json_is_array(arr))
		return NULL;
	char **v = xcalloc(json_array_size(arr) + 1, sizeof *v);
	size_t i, k = 0;
	json_t *e;
	json_array_foreach(arr, i, e) {
		if (json_is_string(e))
			v[k++] = xstrdup(json_string_value(e));
	}
	return v;
}

int image_config_parse(const char *body, size_t n, image_config *out, terr **err)
{
	memset(out, 0, sizeof *out);
	json_error_t jerr;
	_cleanup_json_ json_t *root = json_loadb(body, n, 0, &jerr);
	if (!json_is_object(root))
		return terr_bad_request(err, "image config is not a JSON object%s%s",
		                        root ? "" : ": ", root ? "" : jerr.text);
	json_t *c = json_object_get(root, "config");
	if (json_is_object(c)) {
		out->entrypoint = strv_from_json(json_object_get(c, "Entrypoint"));
		out->cmd = strv_from_json(json_object_get(c, "Cmd"));
		out->env = strv_from_json(json_object_get(c, "Env"));
		const char *wd = json_string_value(json_object_get(c, "WorkingDir"));
		const char *user = json_string_value(json_object_get(c, "User"));
		const char *sig = json_string_value(json_object_get(c, "StopSignal"));
		out->working_dir = wd && *wd ? xstrdup(wd) : NULL;
		out->user = user && *user ? xstrdup(user) : NULL;
		out->stop_signal = sig && *sig ? xstrdup(sig) : NULL;
		json_t *ports = json_object_get(c, "ExposedPorts");
		if (json_is_object(ports)) {
			out->exposed_ports = xcalloc(json_object_size(ports) + 1, sizeof(char *));
			const char *k;
			json_t *v;
			size_t i = 0;
			json_object_foreach(ports, k, v) {
				out->exposed_ports[i++] = xstrdup(k);
			}
		}
	}
	out->os = xstrdup(json_string_value(json_object_get(root, "os")));
	out->architecture = xstrdup(json_string_value(json_object_get(root, "architecture")));
	out->variant = xstrdup(json_string_value(json_object_get(root, "variant")));
	json_t *diff_ids = json_path(root, "rootfs.diff_ids");
	if (!json_is_array(diff_ids)) {
		image_config_free(out);
		return terr_bad_request(err, "image config has no rootfs.diff_ids");
	}
	out->diff_ids = xcalloc(json_array_size(diff_ids) + 1, sizeof(char *));
	size_t i;
	json_t *e;
	json_array_foreach(diff_ids, i, e) {
		if (!image_digest_valid(json_string_value(e))) {
			image_config_free(out);
			return terr_bad_request(err, "image config: rootfs.diff_ids[%zu] is not a "
			                             "sha256 digest",
			                        i);
		}
		out->diff_ids[i] = xstrdup(json_string_value(e));
	}
	return 0;
}

void image_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void image_config_free(image_config *c)
{
	if (!c)
		return;
	image_strv_free(c->entrypoint);
	image_strv_free(c->cmd);
	image_strv_free(c->env);
	image_strv_free(c->exposed_ports);
	image_strv_free(c->diff_ids);
	free(c->working_dir);
	free(c->user);
	free(c->stop_signal);
	free(c->os);
	free(c->architecture);
	free(c->variant);
	memset(c, 0, sizeof *c);
}

char *image_manifest_synthesize(const char *config_digest, int64_t config_size,
                                char *const *layer_digests, const int64_t *layer_sizes,
                                size_t n)
{
	buf b = {0};
	buf_printf(&b,
	           "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
	           "\"digest\":\"%s\",\"size\":%lld},\"layers\":[",
	           MT_DOCKER_MANIFEST, MT_DOCKER_CONFIG, config_digest, (long long)config_size);
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%lld}",
		           i ? "," : "", MT_DOCKER_LAYER, layer_digests[i],
		           (long long)layer_sizes[i]);
	buf_puts(&b, "]}");
	return buf_take(&b);
}
