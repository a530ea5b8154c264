/* schema.h — the table of facts about built-in Kubernetes types.
 *
 * One generated table (src/api/schema_gen.inc, included by src/api/schema.c, produced by tools/gen-schema.py from the
 * published API definitions) describes every built-in type the server knows: JSON field
 * names, protobuf field numbers, value kinds, and patch metadata. The OpenAPI documents,
 * the protobuf<->JSON transcoder, strategic merge patch and server-side apply all read it.
 * This header is the interface to that table; it holds no Kubernetes logic itself.
 */
#ifndef TIMON_API_SCHEMA_H
#define TIMON_API_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

/* What a value is, on the wire and in JSON. */
typedef enum schema_kind {
	SCHEMA_NONE = 0,
	SCHEMA_STRING,        /* JSON string; proto string */
	SCHEMA_BOOL,          /* JSON bool; proto varint */
	SCHEMA_INT32,         /* JSON number; proto varint (int32) */
	SCHEMA_INT64,         /* JSON number; proto varint (int64) */
	SCHEMA_DOUBLE,        /* JSON number; proto fixed64 double */
	SCHEMA_BYTES,         /* JSON base64 string; proto bytes */
	SCHEMA_OBJECT,        /* JSON object of `type`; proto embedded message */
	SCHEMA_ARRAY,         /* JSON array of `elem`; proto repeated */
	SCHEMA_MAP,           /* JSON object string -> `elem`; proto map<string, elem> */
	SCHEMA_QUANTITY,      /* resource.Quantity: JSON string; proto message {string string = 1} */
	SCHEMA_TIME,          /* metav1.Time: JSON RFC 3339 seconds; proto {int64 seconds=1; int32 nanos=2} */
	SCHEMA_MICROTIME,     /* metav1.MicroTime: JSON RFC 3339 with 6 decimals; proto as TIME */
	SCHEMA_DURATION,      /* metav1.Duration: JSON "1h2m3s"; proto {int64 duration = 1} (ns) */
	SCHEMA_INT_OR_STRING, /* intstr.IntOrString: JSON int or string; proto {int64 type=1; int32 intVal=2; string strVal=3} */
	SCHEMA_RAW,           /* runtime.RawExtension, FieldsV1, apiextensions JSON: any JSON; proto {bytes raw = 1} */
	SCHEMA_ANY,           /* free-form JSON with no protobuf form (e.g. JSONSchemaProps internals) */
} schema_kind;

enum schema_flags {
	SCHEMA_F_OMITEMPTY = 1 << 0, /* json:",omitempty": zero values are left out of JSON */
	SCHEMA_F_REQUIRED = 1 << 1,  /* required in OpenAPI (no omitempty and not optional) */
	SCHEMA_F_POINTER = 1 << 2,   /* Go pointer: nil and zero differ */
	SCHEMA_F_INLINE = 1 << 3,    /* json:",inline": the sub-type's fields appear in the parent's
	                                JSON object; in protobuf it is still a nested message */
	SCHEMA_F_MAP_ATOMIC = 1 << 4, /* x-kubernetes-map-type: atomic */
};

typedef struct schema_type schema_type;

typedef struct schema_field {
	const char *json;        /* JSON name; for SCHEMA_F_INLINE fields, the Go field name */
	uint32_t proto;          /* protobuf field number, 0 when the field has none */
	uint8_t kind;            /* schema_kind of the field */
	uint8_t elem;            /* for ARRAY and MAP: schema_kind of the elements */
	uint16_t flags;          /* schema_flags */
	const schema_type *type; /* the message type for OBJECT, or for ARRAY/MAP of OBJECT */
	const char *patch_strategy;  /* x-kubernetes-patch-strategy ("merge", "retainKeys",
	                                "merge,retainKeys") or NULL */
	const char *patch_merge_key; /* x-kubernetes-patch-merge-key or NULL */
	const char *list_type;       /* x-kubernetes-list-type: "atomic", "set", "map" or NULL */
	const char *list_map_keys;   /* x-kubernetes-list-map-keys, comma-separated, or NULL */
} schema_field;

struct schema_type {
	const char *name;    /* OpenAPI definition name, e.g. "io.k8s.api.apps.v1.Deployment" */
	const char *group;   /* for top-level kinds: API group ("" for core), else NULL */
	const char *version; /* for top-level kinds: version, else NULL */
	const char *kind;    /* for top-level kinds (and their lists): Kind, else NULL */
	const schema_field *fields;
	size_t nfields;
};

/* The generated table: every known type, sorted by name. */
extern const schema_type schema_types[];
extern const size_t schema_ntypes;

/* Look a type up by its OpenAPI name; NULL when unknown. */
const schema_type *schema_find(const char *name);
/* Look a top-level kind up by group ("" for core), version and kind; NULL when unknown. */
const schema_type *schema_find_gvk(const char *group, const char *version, const char *kind);
/* A field of t by JSON name (searching inline sub-types too); NULL when none. */
const schema_field *schema_field_json(const schema_type *t, const char *json);
/* A field of t by protobuf number (not searching inline sub-types); NULL when none. */
const schema_field *schema_field_proto(const schema_type *t, uint32_t num);

#endif
