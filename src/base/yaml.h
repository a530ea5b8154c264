/* yaml.h — YAML request bodies to JSON trees and JSON trees to YAML responses, with the
 * typing rules Kubernetes applies (sigs.k8s.io/yaml over go-yaml v2, YAML 1.1 scalars).
 * Not for: multi-document streams (kubectl splits those client-side) or comments. */
#ifndef TIMON_BASE_YAML_H
#define TIMON_BASE_YAML_H

#include <jansson.h>
#include <stddef.h>

#include "base/error.h"

/* Limits on one document. */
#define YAML_MAX_DEPTH    100 /* nesting of sequences and mappings */
#define YAML_ALIAS_FACTOR 10  /* expanded nodes <= factor * parsed nodes + YAML_ALIAS_SLACK */
#define YAML_ALIAS_SLACK  10000

/* Converts the one non-empty YAML document of data[0..n) (not NUL-terminated; empty
 * documents around it are ignored) to a new JSON tree (the caller's). Plain scalars are
 * typed like go-yaml v2 (true/yes/on, null/~/empty, 0x/0o/0b/octal ints, floats with
 * exponents; .inf/.nan are refused as JSON has none), quoted and !!str scalars stay
 * strings, anchors/aliases and << merge keys are expanded, non-string keys become
 * strings. NULL with a 400 BadRequest "error converting YAML to JSON: yaml: line N: ..."
 * on syntax errors, zero or several documents, nesting deeper than YAML_MAX_DEPTH or
 * alias expansion beyond the limits. */
json_t *yaml_to_json(const char *data, size_t n, terr **err);

/* Block-style YAML for j (kubectl's layout: sequences in mappings not indented, strings
 * quoted when they would re-read as another type, multi-line strings as | blocks).
 * Never NULL; the caller frees. */
char *json_to_yaml(json_t *j);

#endif
