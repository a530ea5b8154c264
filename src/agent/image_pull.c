/* image_pull.c — pulling an image: resolve the reference on each endpoint in turn, fetch
 * the manifest (and the platform's manifest of an index), then config and layers into the
 * blob store, verifying every digest, unpack the layers, and record the image. Also the
 * step pull and import share: from a stored manifest to an unpacked, indexed image.
 * Not for: HTTP details (image_client.c) or archives (image_import.c). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/image-internal.h"
#include "agent/image_pull.h"
#include "agent/image_ref.h"
#include "base/log.h"
#include "base/util.h"

/* Fetches blob d into the store unless it is there. */
static int fetch_blob(image_store *s, image_client *c, const image_desc *d, int64_t max,
                      terr **err)
{
	if (image_store_has_blob(s, d->digest))
		return 0;
	if (!c)
		return terr_not_found(err, "blob %s is missing", d->digest);
	if (max >= 0 && d->size > max)
		return terr_set(err, 502, "ErrImagePull", "blob %s: %lld bytes is too large",
		                d->digest, (long long)d->size);
	image_blob_writer *w = image_blob_begin(s, err);
	if (!w)
		return -1;
	if (image_client_get_blob(c, d->digest, d->size, w, err) < 0) {
		image_blob_abort(w);
		return terr_wrap(err, "blob %s", d->digest);
	}
	return image_blob_commit(w, d->digest, d->size, NULL, err);
}

/* Reads a small verified blob, fetching it (again, when the stored copy is damaged). */
static char *small_blob(image_store *s, image_client *c, const image_desc *d, size_t max,
                        size_t *n, terr **err)
{
	if (fetch_blob(s, c, d, (int64_t)max, err) < 0)
		return NULL;
	_cleanup_terr_ terr *rerr = NULL;
	char *body = image_store_read_blob(s, d->digest, max, n, &rerr);
	if (body || !c) {
		if (!body) {
			terr_set(err, rerr->code, rerr->reason, "%s", rerr->message);
		}
		return body;
	}
	log_warn("images: %s; fetching it again", rerr->message);
	_cleanup_free_ char *path = image_store_blob_path(s, d->digest);
	unlink(path);
	if (fetch_blob(s, c, d, (int64_t)max, err) < 0)
		return NULL;
	return image_store_read_blob(s, d->digest, max, n, err);
}

/* Makes sure layer i is unpacked: a stored blob that does not unpack to its diff ID is
 * damaged and fetched again when a client is at hand. */
static int ensure_layer(image_store *s, image_client *c, const image_desc *d,
                        const char *diff_id, terr **err)
{
	if (image_store_has_layer(s, diff_id))
		return 0;
	bool had = image_store_has_blob(s, d->digest);
	if (fetch_blob(s, c, d, -1, err) < 0)
		return -1;
	_cleanup_terr_ terr *uerr = NULL;
	if (image_store_unpack(s, d->digest, diff_id, &uerr) == 0)
		return 0;
	if (!had || !c) {
		terr_set(err, uerr->code, uerr->reason, "%s", uerr->message);
		return -1;
	}
	log_warn("images: %s; fetching the layer again", uerr->message);
	_cleanup_free_ char *path = image_store_blob_path(s, d->digest);
	unlink(path);
	if (fetch_blob(s, c, d, -1, err) < 0)
		return -1;
	return image_store_unpack(s, d->digest, diff_id, err);
}

int image_assemble(image_store *s, image_client *c, const image_manifest *m,
                   const char *manifest_digest, size_t manifest_size, image_info *out,
                   terr **err)
{
	memset(out, 0, sizeof *out);
	if (m->is_index)
		return terr_bad_request(err, "an index inside an index is not supported");
	size_t n;
	_cleanup_free_ char *cfg_body = small_blob(s, c, &m->config, IMAGE_CONFIG_MAX, &n, err);
	if (!cfg_body)
		return terr_wrap(err, "config");
	image_config cfg;
	if (image_config_parse(cfg_body, n, &cfg, err) < 0)
		return -1;
	size_t nd = 0;
	while (cfg.diff_ids[nd])
		nd++;
	if (nd != m->n_layers) {
		image_config_free(&cfg);
		return terr_bad_request(err, "manifest lists %zu layers but the config %zu diff IDs",
		                        m->n_layers, nd);
	}
	out->layers = xcalloc(m->n_layers + 1, sizeof *out->layers);
	out->size = (int64_t)manifest_size + m->config.size;
	for (size_t i = 0; i < m->n_layers; i++) {
		const image_desc *d = &m->layers[i];
		if (ensure_layer(s, c, d, cfg.diff_ids[i], err) < 0) {
			image_config_free(&cfg);
			image_info_free(out);
			return terr_wrap(err, "layer %s", d->digest);
		}
		image_layer *L = &out->layers[out->n_layers++];
		L->digest = xstrdup(d->digest);
		L->diff_id = xstrdup(cfg.diff_ids[i]);
		L->media_type = xstrdup(d->media_type);
		L->size = d->size;
		out->size += d->size;
	}
	image_config_free(&cfg);
	out->id = xstrdup(m->config.digest);
	out->manifest = xstrdup(manifest_digest);
	out->digest = xstrdup(manifest_digest);
	out->media_type = xstrdup(m->media_type);
	out->pulled = time_now_ns();
	out->names = xcalloc(1, sizeof(char *));
	out->repo_digests = xcalloc(1, sizeof(char *));
	return 0;
}

/* Stores a manifest body under its digest. */
static int store_bytes(image_store *s, const char *digest, const buf *b, terr **err)
{
	if (image_store_has_blob(s, digest))
		return 0;
	image_blob_writer *w = image_blob_begin(s, err);
	if (!w)
		return -1;
	if (image_blob_write(w, b->p ? b->p : "", b->n, err) < 0) {
		image_blob_abort(w);
		return -1;
	}
	return image_blob_commit(w, digest, (int64_t)b->n, NULL, err);
}

/* Fetches manifest `reference` and checks it against want (a digest, or NULL for a tag).
 * *digest gets its digest (new string). */
static int fetch_manifest(image_store *s, image_client *c, const char *reference,
                          const char *want, buf *body, image_manifest *m, char **digest,
                          terr **err)
{
	_cleanup_free_ char *ct = NULL;
	if (image_client_get_manifest(c, reference, body, &ct, err) < 0)
		return -1;
	char *d = image_sha256_digest(body->p ? body->p : "", body->n);
	if (want && !str_eq(d, want)) {
		terr_set(err, 502, "ErrImagePull", "manifest %s: digest mismatch: got %s", want, d);
		free(d);
		return -1;
	}
	if (image_manifest_parse(body->p ? body->p : "", body->n, ct, m, err) < 0 ||
	    store_bytes(s, d, body, err) < 0) {
		image_manifest_free(m);
		free(d);
		return -1;
	}
	*digest = d;
	return 0;
}

static int pull_from(image_store *s, image_client *c, const image_ref *r,
                     const image_pull_opts *o, image_info *out, terr **err)
{
	buf body = {0};
	image_manifest top = {0}, child = {0};
	_cleanup_free_ char *top_digest = NULL, *child_digest = NULL, *name = NULL;
	int rc = -1;
	if (fetch_manifest(s, c, image_ref_reference(r), r->digest, &body, &top, &top_digest,
	                   err) < 0)
		goto out;
	const image_manifest *m = &top;
	const char *mdigest = top_digest;
	size_t msize = body.n;
	if (top.is_index) {
		int i = image_manifest_pick(&top, o->os, o->arch, o->variant, err);
		if (i < 0)
			goto out;
		const char *want = top.manifests[i].digest;
		if (fetch_manifest(s, c, want, want, &body, &child, &child_digest, err) < 0)
			goto out;
		m = &child;
		mdigest = child_digest;
		msize += body.n;
	}
	if (image_assemble(s, c, m, mdigest, msize, out, err) < 0)
		goto out;
	free(out->digest);
	out->digest = xstrdup(top_digest);
	name = image_ref_name(r);
	char *tagged = image_ref_tagged(r);
	if (tagged) {
		out->names = xrealloc(out->names, 2 * sizeof(char *));
		out->names[0] = tagged;
		out->names[1] = NULL;
		out->n_names = 1;
	}
	out->repo_digests = xrealloc(out->repo_digests, 2 * sizeof(char *));
	out->repo_digests[0] = xasprintf("%s@%s", name, top_digest);
	out->repo_digests[1] = NULL;
	out->n_repo_digests = 1;
	rc = 0;
out:
	buf_free(&body);
	image_manifest_free(&top);
	image_manifest_free(&child);
	return rc;
}

int image_pull(image_store *s, const char *ref, const image_pull_opts *opts, image_info *out,
               terr **err)
{
	static const image_pull_opts none = {0};
	const image_pull_opts *o = opts ? opts : &none;
	image_ref r;
	if (image_ref_parse(ref, &r, err) < 0)
		return -1;
	image_registries *loaded = NULL;
	const image_registries *regs = o->registries;
	if (!regs) {
		loaded = image_registries_load(o->registries_path, err);
		if (!loaded) {
			image_ref_free(&r);
			return terr_wrap(err, "failed to pull \"%s\"", ref);
		}
		regs = loaded;
	}
	image_endpoint *eps = NULL;
	size_t neps = 0;
	image_info img = {0};
	int rc = -1;
	int gfd = -1;
	if (image_registries_endpoints(regs, r.domain, &eps, &neps, err) < 0)
		goto out;
	gfd = image_store_lock(s, IMAGE_LOCK_GC, false, false, err);
	if (gfd < 0)
		goto out;
	terr *last = NULL;
	char *why = NULL; /* every endpoint's answer, so a mirror's 404 is not hidden by the
	                   * registry's own endpoint failing after it (offline sites) */
	for (size_t i = 0; i < neps && rc < 0; i++) {
		/* Pull secrets serve the image's own registry; registries.yaml's auth serves
		 * the host it names. */
		const image_auth *auth = NULL;
		if (!eps[i].mirror)
			auth = image_keyring_lookup(o->keyring, r.domain, r.path);
		if (!auth)
			auth = eps[i].auth;
		image_client *c = image_client_new(&eps[i], r.path, auth);
		terr *e = NULL;
		rc = pull_from(s, c, &r, o, &img, &e);
		image_client_free(c);
		if (rc < 0) {
			log_debug("images: pulling %s from %s: %s", ref, eps[i].url,
			          e ? e->message : "?");
			char *w = xasprintf("%s%s%s: %s", why ? why : "", why ? "; " : "", eps[i].url,
			                    e ? e->message : "unknown error");
			free(why);
			why = w;
			terr_free(last);
			last = e;
		}
	}
	if (rc < 0) {
		if (last)
			terr_set(err, last->code, last->reason, "%s",
			         neps > 1 && why ? why : last->message);
		terr_free(last);
		free(why);
		goto out;
	}
	terr_free(last);
	free(why);
	rc = image_store_add(s, &img, err);
	if (rc == 0 && out) {
		*out = img;
		memset(&img, 0, sizeof img);
	}
out:
	image_store_unlock(gfd);
	if (rc < 0) {
		terr_set(err, 502, "ErrImagePull", "unknown error");
		/* k8s: a failed pull shows as the container's waiting reason ErrImagePull,
		 * whatever failed underneath (network, registry, digest, disk). */
		if (err && *err && !str_eq((*err)->reason, "ErrImagePull")) {
			free((*err)->reason);
			(*err)->reason = xstrdup("ErrImagePull");
			if ((*err)->code < 400)
				(*err)->code = 502;
		}
		terr_wrap(err, "failed to pull \"%s\"", ref);
	}
	image_info_free(&img);
	image_endpoints_free(eps, neps);
	image_registries_free(loaded);
	image_ref_free(&r);
	return rc;
}
