/* client.c — in-process requests through the API server's own handlers; in a standalone
 * agent the same calls go to the remote server (remote.c). */
#include "apiserver/client.h"

#include <stdlib.h>
#include <string.h>

#include "apiserver/apiserver-internal.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"

static const char *const internal_user = "system:timon";
static char *internal_groups[] = {(char *)"system:masters"};

typedef struct pending {
	client_cb cb;
	void *ud;
} pending;

static void on_answer(http_req *req, int status, const char *body, size_t len, void *ud)
{
	pending *p = ud;
	UNUSED(req);
	if (p->cb) {
		json_t *obj = json_loadb(body, len, 0, NULL);
		p->cb(p->ud, status, obj);
		json_decref(obj);
	} else if (status >= 400 && status != 404 && status != 409) {
		log_debug("client: request answered %d: %.*s", status, (int)(len > 300 ? 300 : len), body);
	}
	free(p);
}

/* The same answer as a tree: no bytes to parse. */
static void on_answer_obj(http_req *req, int status, void *obj, void *ud)
{
	pending *p = ud;
	UNUSED(req);
	if (p->cb)
		p->cb(p->ud, status, obj);
	else if (status >= 400 && status != 404 && status != 409)
		log_debug("client: request answered %d: %s", status,
		          json_string_value(json_object_get(obj, "message")));
	free(p);
}

static void free_tree(void *obj)
{
	json_decref(obj);
}

char *client_path(const kind_desc *d, const char *ns, const char *name, const char *sub)
{
	buf b = {0};
	if (d->group[0]) {
		buf_puts(&b, "/apis/");
		buf_puts(&b, d->group);
		buf_putc(&b, '/');
	} else {
		buf_puts(&b, "/api/");
	}
	buf_puts(&b, d->version);
	if (d->namespaced && ns) {
		buf_puts(&b, "/namespaces/");
		buf_puts(&b, ns);
	}
	buf_putc(&b, '/');
	buf_puts(&b, d->resource);
	if (name) {
		buf_putc(&b, '/');
		buf_puts(&b, name);
	}
	if (name && sub) {
		buf_putc(&b, '/');
		buf_puts(&b, sub);
	}
	return buf_take(&b);
}

/* body_owned: the body is the caller's to give (a tree nothing else holds), taken as is. */
static void request(apiserver *s, const char *manager, const char *method, const char *path,
                    json_t *body, bool body_owned, const char *ctype, client_cb cb, void *ud)
{
	if (s->remote) {
		/* A standalone agent: the same request, to the remote server (remote.c). */
		remote_client_do(s, manager, method, path, body, ctype, cb, ud);
		if (body_owned)
			json_decref(body);
		return;
	}
	pending *p = xcalloc(1, sizeof *p);
	p->cb = cb;
	p->ud = ud;
	_cleanup_buf_ buf q = {0};
	buf_puts(&q, "fieldManager=");
	buf_puts(&q, manager ? manager : "timon");
	const char *query = q.p; /* http_req_internal copies it */
	const char *headers[] = {"content-type", ctype ? ctype : "application/json",
	                         "accept", "application/json",
	                         "user-agent", "timon-controller",
	                         NULL};
	http_req *h = http_req_internal(method, path, query, headers, NULL, 0, internal_user,
	                                internal_groups, 1, on_answer, p);
	/* The body travels as a tree, copied unless given because the server changes what
	 * it decodes (defaults, metadata) and the caller's may share parts with cached
	 * events. */
	if (body) {
		h->body_obj = body_owned ? body : json_clone_containers(body);
		h->body_obj_free = free_tree;
	}
	h->internal_obj_cb = on_answer_obj;
	apiserver_handle(s, h);
}

void client_do(apiserver *s, const char *manager, const char *method, const char *path,
               json_t *body, const char *ctype, client_cb cb, void *ud)
{
	request(s, manager, method, path, body, false, ctype, cb, ud);
}

void client_create(apiserver *s, const char *manager, const kind_desc *d, const char *ns,
                   json_t *obj, client_cb cb, void *ud)
{
	_cleanup_free_ char *path = client_path(d, ns, NULL, NULL);
	client_do(s, manager, "POST", path, obj, NULL, cb, ud);
}

void client_create_owned(apiserver *s, const char *manager, const kind_desc *d, const char *ns,
                         json_t *obj, client_cb cb, void *ud)
{
	_cleanup_free_ char *path = client_path(d, ns, NULL, NULL);
	request(s, manager, "POST", path, obj, true, NULL, cb, ud);
}

static void update(apiserver *s, const char *manager, const kind_desc *d, json_t *obj,
                   bool owned, const char *sub, client_cb cb, void *ud)
{
	_cleanup_free_ char *path = client_path(d, json_path_str(obj, "metadata.namespace"),
	                                        json_path_str(obj, "metadata.name"), sub);
	request(s, manager, "PUT", path, obj, owned, NULL, cb, ud);
}

void client_update(apiserver *s, const char *manager, const kind_desc *d, json_t *obj,
                   const char *sub, client_cb cb, void *ud)
{
	update(s, manager, d, obj, false, sub, cb, ud);
}

void client_update_owned(apiserver *s, const char *manager, const kind_desc *d, json_t *obj,
                         const char *sub, client_cb cb, void *ud)
{
	update(s, manager, d, obj, true, sub, cb, ud);
}

void client_patch(apiserver *s, const char *manager, const kind_desc *d, const char *ns,
                  const char *name, const char *sub, const char *patch_type, json_t *patch,
                  client_cb cb, void *ud)
{
	_cleanup_free_ char *path = client_path(d, ns, name, sub);
	client_do(s, manager, "PATCH", path, patch,
	          patch_type ? patch_type : "application/merge-patch+json", cb, ud);
}

void client_delete(apiserver *s, const char *manager, const kind_desc *d, const char *ns,
                   const char *name, json_t *opts, client_cb cb, void *ud)
{
	_cleanup_free_ char *path = client_path(d, ns, name, NULL);
	client_do(s, manager, "DELETE", path, opts, NULL, cb, ud);
}
