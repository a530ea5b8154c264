/* error.h — the one error type of timon.
 *
 * A function that can fail takes `terr **err` as its last argument and returns a negative
 * value (or NULL). The error carries what the API layer needs to answer with a Kubernetes
 * Status object without guessing: an HTTP code, a `reason` (NotFound, Invalid, ...), a
 * message, and causes with field paths. Callers add context with terr_wrap as the error
 * travels up. See docs/error-handling.md.
 */
#ifndef TIMON_BASE_ERROR_H
#define TIMON_BASE_ERROR_H

#include <stdbool.h>
#include <stddef.h>

typedef struct terr_cause {
	char *reason;  /* k8s CauseType, e.g. "FieldValueRequired", "FieldValueInvalid" */
	char *message;
	char *field;   /* field path, e.g. "spec.template.spec.containers[0].name" */
} terr_cause;

typedef struct terr {
	int code;       /* HTTP status: 400, 404, 409, 422, 500, ... */
	char *reason;   /* k8s StatusReason: "BadRequest", "NotFound", "AlreadyExists", ... */
	char *message;
	terr_cause *causes;
	size_t ncauses;
	int retry_after; /* seconds for details.retryAfterSeconds (429/503), 0 if none */
	bool unnamed;    /* the Status's details name no object (kube's NewInvalid of an empty
	                  * kind and name, as a patch whose result does not decode gets) */
} terr;

/* Sets *err (when err is not NULL and *err is NULL) and returns -1. */
int terr_set(terr **err, int code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Appends a cause to *err, creating a 422 Invalid error when *err is NULL. Returns -1. */
int terr_cause_add(terr **err, const char *reason, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prefixes the message of *err with context: "context: message". Returns -1. */
int terr_wrap(terr **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees e (NULL is fine). */
void terr_free(terr *e);
void cleanup_terrp(terr **e);
#define _cleanup_terr_ __attribute__((cleanup(cleanup_terrp)))

/* Shorthands for the common API errors. Each returns -1. */
#define terr_bad_request(err, ...) terr_set(err, 400, "BadRequest", __VA_ARGS__)
#define terr_not_found(err, ...) terr_set(err, 404, "NotFound", __VA_ARGS__)
#define terr_conflict(err, ...) terr_set(err, 409, "Conflict", __VA_ARGS__)
#define terr_already_exists(err, ...) terr_set(err, 409, "AlreadyExists", __VA_ARGS__)
#define terr_invalid(err, ...) terr_set(err, 422, "Invalid", __VA_ARGS__)
#define terr_internal(err, ...) terr_set(err, 500, "InternalError", __VA_ARGS__)

#endif
