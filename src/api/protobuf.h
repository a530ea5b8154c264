/* protobuf.h — the Kubernetes protobuf <-> JSON transcoder.
 *
 * kubectl's `create` subcommands and client-go send request bodies as
 * application/vnd.kubernetes.protobuf: the magic "k8s\0", then a runtime.Unknown message
 * {typeMeta = 1 {apiVersion = 1, kind = 2}, raw = 2, contentEncoding = 3,
 * contentType = 4} whose raw field is the object's own message. The server works on JSON,
 * so this module turns such bodies into the JSON that kube-apiserver would print for
 * them, and JSON objects back into the bytes go-protobuf would write, all driven by the
 * schema table (api/schema.h). Decoding is hardened for hostile input (fuzzed).
 * Not for: content negotiation or HTTP (apiserver), validation or defaulting (the bodies
 * come out as Go would print them, nothing more), custom resources (no protobuf form).
 */
#ifndef TIMON_API_PROTOBUF_H
#define TIMON_API_PROTOBUF_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "api/schema.h"
#include "base/buf.h"
#include "base/error.h"

/* The content type and the 4-byte magic that starts every body. */
#define PB_CONTENT_TYPE "application/vnd.kubernetes.protobuf"
#define PB_MAGIC "k8s\0"
#define PB_MAGIC_LEN 4

/* Decodes an envelope body data[0..n) (borrowed) into a new JSON object whose first keys are
 * kind and apiVersion from the envelope. NULL with 400 BadRequest on malformed input, 415
 * UnsupportedMediaType when the kind has no schema (schema_find_gvk). */
json_t *pb_decode_object(const uint8_t *data, size_t n, terr **err);

/* Decodes one message of type t (borrowed) from data[0..n) into a new JSON object; NULL
 * with 400 BadRequest on malformed input. */
json_t *pb_decode_message(const uint8_t *data, size_t n, const schema_type *t, terr **err);

/* Appends the envelope for obj (borrowed; its apiVersion and kind pick the type) to out.
 * -1 with 406 NotAcceptable when the kind has no schema (answer in JSON instead), 500
 * InternalError when obj does not fit its schema. */
int pb_encode_object(json_t *obj, buf *out, terr **err);

/* Appends obj (borrowed) encoded as a message of type t to out, fields in ascending number
 * as go-protobuf writes them; -1 with 500 InternalError when obj does not fit t. */
int pb_encode_message(json_t *obj, const schema_type *t, buf *out, terr **err);

#endif
