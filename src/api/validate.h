/* validate.h — validation of built-in kinds, as kube-apiserver 1.32 validates them.
 *
 * The request handlers call validate_object after decoding and defaulting a body and
 * before storing it. A failure is a 422 Invalid terr whose causes carry Kubernetes cause
 * types (FieldValueRequired, FieldValueInvalid, ...) and field paths written the way kube
 * writes them ("spec.template.spec.containers[0].image"), and whose message reads like
 * kube's: `Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be
 * greater than or equal to 0`.
 *
 * Not for: defaulting (api/defaults.h), admission policy (quota, PodSecurity), custom
 * resources' OpenAPI schemas, or type checking of the wire format (the decoder's job).
 */
#ifndef TIMON_API_VALIDATE_H
#define TIMON_API_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>

#include "api/kind.h"
#include "base/error.h"

/* Validates obj (borrowed) of kind d; old (borrowed) is the stored object on update and
 * NULL on create. Returns 0, or -1 with a 422 Invalid error in *err. */
int validate_object(const kind_desc *d, json_t *obj, json_t *old, terr **err);

/* Validates a metadata.name of kind d (for instance a name taken from a URL) with the rule
 * kube applies to that kind. Returns 0, or -1 with a 422 Invalid error whose cause's field
 * is "metadata.name". */
int validate_name(const kind_desc *d, const char *name, terr **err);

/* k8s: the syntax checks of apimachinery's util/validation. NULL is never valid. */
bool valid_dns1123_label(const char *s);     /* [a-z0-9]([-a-z0-9]*[a-z0-9])?, <= 63 */
bool valid_dns1123_subdomain(const char *s); /* dot-joined labels, <= 253 */
bool valid_dns1035_label(const char *s);     /* [a-z]([-a-z0-9]*[a-z0-9])?, <= 63 */
bool valid_qualified_name(const char *s);    /* [prefix/]name, as label and annotation keys */
bool valid_label_value(const char *s);       /* empty, or a qualified name part, <= 63 */
bool valid_config_map_key(const char *s);    /* [-._a-zA-Z0-9]+, <= 253, not . .. or ..x */
bool valid_port_name(const char *s);         /* IANA service name: <= 15, [-a-z0-9], a letter */
bool valid_path_segment_name(const char *s); /* not "." or "..", no '/' or '%' */

#endif
