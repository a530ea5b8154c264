/* client.h — the in-process API client. Controllers, the scheduler and the embedded node
 * agent write through it, and so take exactly the path an external client takes: routing,
 * authorization, admission, defaults, validation, resourceVersion checks, group commit.
 * The write is applied to the watch cache before the call returns (so the caller's next
 * read sees it); cb runs once it is durable, or at once on an error.
 */
#ifndef TIMON_APISERVER_CLIENT_H
#define TIMON_APISERVER_CLIENT_H

#include <jansson.h>

#include "api/kind.h"
#include "apiserver/apiserver.h"

/* code: the HTTP status; obj: the answer (object or Status), borrowed for the call and
 * read-only (it may be the server's own tree). */
typedef void (*client_cb)(void *ud, int code, json_t *obj);

/* The API path of a collection (name NULL) or object, with an optional subresource. */
char *client_path(const kind_desc *d, const char *ns, const char *name, const char *sub);
/* Sends one request as `manager` (the field manager; the user is system:timon in
 * system:masters). body may be NULL; ctype defaults to application/json. cb may be NULL. */
void client_do(apiserver *s, const char *manager, const char *method, const char *path,
               json_t *body, const char *ctype, client_cb cb, void *ud);
/* Conveniences over client_do. obj/patch borrowed. */
void client_create(apiserver *s, const char *manager, const kind_desc *d, const char *ns,
                   json_t *obj, client_cb cb, void *ud);
void client_update(apiserver *s, const char *manager, const kind_desc *d, json_t *obj,
                   const char *sub, client_cb cb, void *ud);
/* client_create for a tree the caller gives up (its own, sharing nothing with a cached
 * tree): sent as is, without client_do's copy; obj is the client's from the call on. */
void client_create_owned(apiserver *s, const char *manager, const kind_desc *d, const char *ns,
                         json_t *obj, client_cb cb, void *ud);
/* client_update for a tree the caller gives up (its own, shared with nothing cached): sent
 * as is, without the copy client_do makes; obj is the client's from the call on. For the
 * status subresource only the top level and metadata need be its own: a status write
 * takes status from the body and everything else from the stored object, changing none of
 * the body's other members, so those may be the cache's shared trees. */
void client_update_owned(apiserver *s, const char *manager, const kind_desc *d, json_t *obj,
                         const char *sub, client_cb cb, void *ud);
void client_patch(apiserver *s, const char *manager, const kind_desc *d, const char *ns,
                  const char *name, const char *sub, const char *patch_type, json_t *patch,
                  client_cb cb, void *ud);
void client_delete(apiserver *s, const char *manager, const kind_desc *d, const char *ns,
                   const char *name, json_t *opts, client_cb cb, void *ud);

#endif
