/* convert.h — conversion between the served versions of a resource that share storage.
 *
 * Some resources are served in several versions but stored once: kube-apiserver keeps
 * autoscaling/v1 and autoscaling/v2 HorizontalPodAutoscalers as autoscaling/v2, and core/v1
 * and events.k8s.io/v1 Events as core/v1 Events under /registry/events/. A request in one
 * version must see objects written in another the way kube shows them, and a client that
 * reads and writes back an older version must lose nothing (autoscaling/v1 keeps what it
 * cannot express in kube's autoscaling.alpha.kubernetes.io/... annotations).
 *
 * Conversions work on JSON trees and never change their input. Fields the target version
 * does not have are dropped, as kube's typed conversion drops them; absent fields stay
 * absent (no zero values are invented, except inside kube's round-trip annotations, whose
 * JSON is written the way Go's encoding/json writes it).
 *
 * Not for: defaulting or validation (api/defaults.h, api/validate.h), CRD conversion
 * webhooks, field-selector label mapping (api/fieldsel.h knows both Event spellings).
 */
#ifndef TIMON_API_CONVERT_H
#define TIMON_API_CONVERT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "api/kind.h"
#include "base/error.h"

/* True when an object stored as stored_api_version must be converted to be served as
 * want_api_version ("autoscaling/v2", "v1", ...). False when either is NULL. */
bool convert_needed(const char *stored_api_version, const char *want_api_version);

/* obj (borrowed) in to_api_version: a new reference. Built-in pairs with structural
 * differences (autoscaling/v1 <-> autoscaling/v2 HorizontalPodAutoscaler, v1 <->
 * events.k8s.io/v1 Event) use kube's conversion; other versions of one group (custom
 * resources) are a deep copy with apiVersion changed, as kube's "None" strategy does.
 * The same apiVersion gives a deep copy. NULL with err: 400 when obj is not an object or
 * has no apiVersion, 500 when no conversion exists between the two groups. */
json_t *convert_object(json_t *obj, const char *to_api_version, terr **err);

/* ---- helpers for the API server's read and write paths ---- */

/* The apiVersion objects of d are stored in, into out[128]: "autoscaling/v2" for
 * autoscaling/v1 HorizontalPodAutoscalers (d->storage_version), "v1" for events.k8s.io/v1
 * Events (kube stores them as core/v1 Events), else d's own apiVersion. */
void convert_storage_api_version(const kind_desc *d, char out[128]);

/* True when objects under d's storage key may be stored in another apiVersion than d's
 * (so reads must look and convert): d has a storage_version, d is an Event of either
 * group, or another version of d's custom resource is served. Cheap enough per request. */
bool convert_may_differ(const kind_desc *d);

/* For read paths. Stored JSON bytes (data, len) served as d's apiVersion: returns 0 when
 * they can be sent as they are, 1 with *out a new compact JSON string (caller frees) and
 * *out_len its length when they were converted, -1 with err when they do not parse or do
 * not convert. */
int convert_stored_json(const kind_desc *d, const char *data, size_t len, char **out,
                        size_t *out_len, terr **err);

/* For read paths. obj (borrowed) as d's apiVersion: a new reference, either a converted
 * copy or obj itself when no conversion is needed (or obj's kind is not d's). NULL with
 * err when the conversion fails. */
json_t *convert_for_read(const kind_desc *d, json_t *obj, terr **err);

/* For write paths. obj (borrowed, in d's apiVersion or already stored form) in the version
 * d's objects are stored in: a new reference, obj itself when nothing changes. A converted
 * object gets the defaults of its storage version (kube defaults what it decodes from
 * storage, e.g. autoscaling/v2 completes a behavior restored from an annotation). NULL
 * with err when the conversion fails. */
json_t *convert_to_storage(const kind_desc *d, json_t *obj, terr **err);

#endif
