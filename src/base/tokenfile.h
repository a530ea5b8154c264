/* tokenfile.h — static bearer tokens from a file in kube-apiserver's --token-auth-file
 * CSV format: token,user,uid[,"group1,group2"] per record.
 * Not for: service-account or bootstrap tokens (signed/stored elsewhere), or reloading. */
#ifndef TIMON_BASE_TOKENFILE_H
#define TIMON_BASE_TOKENFILE_H

#include <stddef.h>

#include "base/error.h"

typedef struct token_entry {
	char *user;
	char *uid;
	char **groups; /* ngroups strings; the 4th column split at commas */
	size_t ngroups;
} token_entry;

typedef struct token_table token_table;

/* Loads path. Records with an empty token are skipped; for a repeated token the last
 * record wins; fewer than 3 columns or malformed quoting is a 400 error naming the file.
 * Caller frees with token_table_free. NULL on error (404 when the file is missing). */
token_table *token_file_load(const char *path, terr **err);
/* The entry for token (borrowed from t), or NULL. The comparison takes the same time
 * whatever the token's content: digests of every entry are compared in full. */
const token_entry *token_lookup(const token_table *t, const char *token);
/* Frees t (NULL is fine). */
void token_table_free(token_table *t);

#endif
