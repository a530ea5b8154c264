/* jointoken.c — parsing, formatting and keeping the server's join token (jointoken.h).
 * Not for: fetching the CA or asking for certificates (the agent's join, agent/join.c). */
#include "base/jointoken.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/pki.h"
#include "base/util.h"

int join_token_parse(const char *s, join_token *out, terr **err)
{
	memset(out, 0, sizeof *out);
	if (!s)
		return terr_bad_request(err, "no join token given");
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	size_t plen = strlen(JOIN_TOKEN_PREFIX);
	if (n < plen || strncmp(s, JOIN_TOKEN_PREFIX, plen) != 0)
		return terr_bad_request(err, "the join token does not start with %s", JOIN_TOKEN_PREFIX);
	const char *hash = s + plen;
	const char *sep = strstr(hash, "::");
	if (!sep || sep > s + n)
		return terr_bad_request(err, "the join token has no \"::\" after the CA hash");
	if (sep - hash != 64)
		return terr_bad_request(err, "the join token's CA hash is not 64 hex digits");
	for (size_t i = 0; i < 64; i++) {
		if (!isxdigit((unsigned char)hash[i]))
			return terr_bad_request(err, "the join token's CA hash is not 64 hex digits");
		out->ca_hash[i] = (char)tolower((unsigned char)hash[i]);
	}
	const char *cred = sep + 2;
	size_t clen = (size_t)(s + n - cred);
	const char *colon = memchr(cred, ':', clen);
	if (!clen || clen >= sizeof out->credential || !colon || colon == cred || colon == cred + clen - 1)
		return terr_bad_request(err, "the join token's credential is not <user>:<secret>");
	for (size_t i = 0; i < clen; i++)
		if (!isgraph((unsigned char)cred[i]))
			return terr_bad_request(err, "the join token's credential holds a blank or control character");
	memcpy(out->credential, cred, clen);
	return 0;
}

char *join_token_format(const char *ca_hash, const char *credential)
{
	return xasprintf("%s%s::%s", JOIN_TOKEN_PREFIX, ca_hash, credential);
}

bool join_token_ca_matches(const join_token *t, const char *ca_pem, size_t len)
{
	char h[65];
	pki_sha256_hex(ca_pem, len, h);
	return strcmp(h, t->ca_hash) == 0;
}

bool join_credential_equal(const char *presented, const char *credential)
{
	if (!presented || !credential)
		return false;
	size_t a = strlen(presented), b = strlen(credential);
	unsigned char diff = a != b;
	for (size_t i = 0; i < b; i++)
		diff |= (unsigned char)(presented[i < a ? i : 0] ^ credential[i]);
	return diff == 0 && a == b;
}

int join_token_ensure(const char *data_dir, char **credential, terr **err)
{
	_cleanup_free_ char *ca_path = xasprintf("%s/tls/%s", data_dir, PKI_CA_CRT);
	_cleanup_free_ char *dir = xasprintf("%s/server", data_dir);
	_cleanup_free_ char *path = xasprintf("%s/%s", data_dir, JOIN_TOKEN_FILE);
	_cleanup_free_ char *ca = NULL;
	size_t calen = 0;
	if (pki_read_file(ca_path, &ca, &calen, err) < 0)
		return -1;
	char hash[65];
	pki_sha256_hex(ca, calen, hash);
	_cleanup_free_ char *cur = NULL;
	terr *rerr = NULL;
	join_token t;
	if (pki_read_file(path, &cur, NULL, &rerr) == 0 && join_token_parse(cur, &t, NULL) == 0) {
		if (strcmp(t.ca_hash, hash) == 0) {
			chmod(path, 0600);
			*credential = xstrdup(t.credential);
			return 0;
		}
	} else {
		unsigned char raw[16];
		random_bytes(raw, sizeof raw);
		char secret[33];
		for (size_t i = 0; i < sizeof raw; i++)
			snprintf(secret + 2 * i, 3, "%02x", raw[i]);
		snprintf(t.credential, sizeof t.credential, "node:%s", secret);
	}
	terr_free(rerr);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return terr_internal(err, "mkdir %s: %s", dir, strerror(errno));
	_cleanup_free_ char *text = join_token_format(hash, t.credential);
	size_t tl = strlen(text);
	text = xrealloc(text, tl + 2);
	text[tl] = '\n';
	text[tl + 1] = 0;
	if (pki_write_file_atomic(path, text, tl + 1, 0600, err) < 0)
		return -1;
	*credential = xstrdup(t.credential);
	return 0;
}
