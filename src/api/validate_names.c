/* validate_names.c — kube's syntax checks for names, keys and small string formats (DNS
 * labels and subdomains, qualified names, label values, config keys, port names, ...),
 * with the exact messages apimachinery's util/validation produces, matched by hand
 * instead of with regular expressions.
 *
 * Not for: deciding which rule applies to which field (validate_*.c do that).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "api/validate-internal.h"
#include "base/quantity.h"
#include "base/util.h"

/* k8s: RegexError(msg, fmt, examples...) joins examples as "'a',  or 'b', " — the doubled
 * space is kube's and clients match on it. */
#define RE_LABEL "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#define RE_SUBDOMAIN RE_LABEL "(\\." RE_LABEL ")*"
#define RE_1035 "[a-z]([-a-z0-9]*[a-z0-9])?"
#define RE_QNAME "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"

#define MSG_LABEL                                                                            \
	"a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', " \
	"and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', " \
	"regex used for validation is '" RE_LABEL "')"
#define MSG_SUBDOMAIN                                                                        \
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' " \
	"or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "     \
	"regex used for validation is '" RE_SUBDOMAIN "')"
#define MSG_1035                                                                             \
	"a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with " \
	"an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "   \
	"'abc-123', regex used for validation is '" RE_1035 "')"
#define MSG_WILDCARD                                                                         \
	"a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, " \
	"which must consist of lower case alphanumeric characters, '-' or '.' and end with an "   \
	"alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\." \
	RE_SUBDOMAIN "')"
#define MSG_QNAME                                                                            \
	"must consist of alphanumeric characters, '-', '_' or '.', and must start and end with " \
	"an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for " \
	"validation is '" RE_QNAME "')"
#define MSG_LABEL_VALUE                                                                      \
	"a valid label must be an empty string or consist of alphanumeric characters, '-', '_' " \
	"or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "    \
	"'my_value',  or '12345', regex used for validation is '(" RE_QNAME ")?')"
#define MSG_CONFIG_KEY                                                                       \
	"a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "     \
	"'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "             \
	"'[-._a-zA-Z0-9]+')"
#define MSG_C_IDENT                                                                          \
	"a valid C identifier must start with alphabetic character or '_', followed by a string " \
	"of alphanumeric characters or '_' (e.g. 'my_name',  or 'MY_NAME',  or 'MyName', regex "  \
	"used for validation is '[A-Za-z_][A-Za-z0-9_]*')"
#define MSG_ENV_NAME                                                                         \
	"a valid environment variable name must consist of alphabetic characters, digits, '_', " \
	"'-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  " \
	"or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"
#define MSG_HEADER                                                                           \
	"a valid HTTP header must consist of alphanumeric characters or '-' (e.g. "              \
	"'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')"
#define MSG_PERCENT                                                                          \
	"a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  " \
	"or '93%', regex used for validation is '[0-9]+%')"

static int add(vmsgs *out, const char *m)
{
	if (out->n < (int)ARRAY_SIZE(out->m))
		out->m[out->n++] = m;
	return 1;
}

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
static bool alnum(char c)
{
	return lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? over s[0..n) */
static bool match_label(const char *s, size_t n)
{
	if (n == 0 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool match_subdomain(const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (!match_label(s + start, i - start))
				return false;
			start = i + 1;
		}
	}
	return true;
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] */
static bool match_qname(const char *s, size_t n)
{
	if (n == 0 || !alnum(s[0]) || !alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

int vm_dns1123_label(const char *s, vmsgs *out)
{
	int n0 = out->n;
	size_t n = strlen(s);
	if (n > 63)
		add(out, "must be no more than 63 characters");
	if (!match_label(s, n)) {
		if (match_subdomain(s, n))
			add(out, "must not contain dots");
		else
			add(out, MSG_LABEL);
	}
	return out->n - n0;
}

int vm_dns1123_subdomain(const char *s, vmsgs *out)
{
	int n0 = out->n;
	size_t n = strlen(s);
	if (n > 253)
		add(out, "must be no more than 253 characters");
	if (!match_subdomain(s, n))
		add(out, MSG_SUBDOMAIN);
	return out->n - n0;
}

int vm_dns1035_label(const char *s, vmsgs *out)
{
	int n0 = out->n;
	size_t n = strlen(s);
	if (n > 63)
		add(out, "must be no more than 63 characters");
	if (!match_label(s, n) || !(s[0] >= 'a' && s[0] <= 'z'))
		add(out, MSG_1035);
	return out->n - n0;
}

int vm_wildcard_dns1123_subdomain(const char *s, vmsgs *out)
{
	int n0 = out->n;
	size_t n = strlen(s);
	if (n > 253)
		add(out, "must be no more than 253 characters");
	if (n < 3 || s[0] != '*' || s[1] != '.' || !match_subdomain(s + 2, n - 2))
		add(out, MSG_WILDCARD);
	return out->n - n0;
}

int vm_qualified_name(const char *s, vmsgs *out)
{
	int n0 = out->n;
	const char *slash = strchr(s, '/');
	const char *name = s;
	if (slash) {
		if (strchr(slash + 1, '/'))
			return add(out, "a qualified name " MSG_QNAME " with an optional DNS subdomain "
			                "prefix and '/' (e.g. 'example.com/MyName')");
		size_t pn = (size_t)(slash - s);
		if (pn == 0) {
			add(out, "prefix part must be non-empty");
		} else {
			if (pn > 253)
				add(out, "prefix part must be no more than 253 characters");
			if (!match_subdomain(s, pn))
				add(out, "prefix part " MSG_SUBDOMAIN);
		}
		name = slash + 1;
	}
	size_t n = strlen(name);
	if (n == 0)
		add(out, "name part must be non-empty");
	else if (n > 63)
		add(out, "name part must be no more than 63 characters");
	if (!match_qname(name, n))
		add(out, "name part " MSG_QNAME);
	return out->n - n0;
}

int vm_label_value(const char *s, vmsgs *out)
{
	int n0 = out->n;
	size_t n = strlen(s);
	if (n > 63)
		add(out, "must be no more than 63 characters");
	if (n > 0 && !match_qname(s, n))
		add(out, MSG_LABEL_VALUE);
	return out->n - n0;
}

/* k8s: hasChDirPrefix — keys that would escape a projected volume directory. */
static void chdir_prefix(const char *s, vmsgs *out)
{
	if (strcmp(s, ".") == 0)
		add(out, "must not be '.'");
	else if (strcmp(s, "..") == 0)
		add(out, "must not be '..'");
	else if (str_has_prefix(s, ".."))
		add(out, "must not start with '..'");
}

int vm_config_map_key(const char *s, vmsgs *out)
{
	int n0 = out->n;
	size_t n = strlen(s);
	if (n > 253)
		add(out, "must be no more than 253 characters");
	bool ok = n > 0;
	for (size_t i = 0; i < n && ok; i++)
		ok = alnum(s[i]) || s[i] == '-' || s[i] == '.' || s[i] == '_';
	if (!ok)
		add(out, MSG_CONFIG_KEY);
	chdir_prefix(s, out);
	return out->n - n0;
}

int vm_port_name(const char *s, vmsgs *out)
{
	int n0 = out->n;
	size_t n = strlen(s);
	if (n > 15)
		add(out, "must be no more than 15 characters");
	bool charset = n > 0, letter = false;
	for (size_t i = 0; i < n; i++) {
		if (!lower_alnum(s[i]) && s[i] != '-')
			charset = false;
		if (s[i] >= 'a' && s[i] <= 'z')
			letter = true;
	}
	if (!charset)
		add(out, "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
	if (!letter)
		add(out, "must contain at least one letter (a-z)");
	if (strstr(s, "--"))
		add(out, "must not contain consecutive hyphens");
	if (n > 0 && (s[0] == '-' || s[n - 1] == '-'))
		add(out, "must not begin or end with a hyphen");
	return out->n - n0;
}

int vm_c_identifier(const char *s, vmsgs *out)
{
	bool ok = s[0] && (isalpha((unsigned char)s[0]) || s[0] == '_');
	for (size_t i = 0; ok && s[i]; i++)
		ok = (s[i] & 0x80) == 0 && (isalnum((unsigned char)s[i]) || s[i] == '_');
	return ok ? 0 : add(out, MSG_C_IDENT);
}

int vm_env_var_name(const char *s, vmsgs *out)
{
	int n0 = out->n;
	bool ok = s[0] && !(s[0] >= '0' && s[0] <= '9');
	for (size_t i = 0; ok && s[i]; i++)
		ok = alnum(s[i]) || s[i] == '-' || s[i] == '.' || s[i] == '_';
	if (!ok)
		add(out, MSG_ENV_NAME);
	chdir_prefix(s, out);
	return out->n - n0;
}

int vm_http_header_name(const char *s, vmsgs *out)
{
	bool ok = s[0] != 0;
	for (size_t i = 0; ok && s[i]; i++)
		ok = alnum(s[i]) || s[i] == '-';
	return ok ? 0 : add(out, MSG_HEADER);
}

int vm_percent(const char *s, vmsgs *out)
{
	size_t n = strlen(s), i = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	bool ok = i > 0 && i + 1 == n && s[i] == '%';
	return ok ? 0 : add(out, MSG_PERCENT);
}

int vm_path_segment(const char *s, bool prefix, vmsgs *out)
{
	int n0 = out->n;
	if (!prefix && strcmp(s, ".") == 0)
		return add(out, "may not be '.'");
	if (!prefix && strcmp(s, "..") == 0)
		return add(out, "may not be '..'");
	if (strchr(s, '/'))
		add(out, "may not contain '/'");
	if (strchr(s, '%'))
		add(out, "may not contain '%'");
	return out->n - n0;
}

int vm_name(vname_rule r, const char *name, bool prefix, vmsgs *out)
{
	/* k8s: a generateName prefix may end in '-'; kube checks it with its last two
	 * characters replaced by "a" (maskTrailingDash). */
	char masked[320];
	size_t n = strlen(name);
	if (prefix && r != VNAME_PATH_SEGMENT && n > 1 && name[n - 1] == '-' &&
	    n < sizeof masked) {
		memcpy(masked, name, n - 2);
		masked[n - 2] = 'a';
		masked[n - 1] = 0;
		name = masked;
	}
	switch (r) {
	case VNAME_SUBDOMAIN:
		return vm_dns1123_subdomain(name, out);
	case VNAME_LABEL:
		return vm_dns1123_label(name, out);
	case VNAME_1035:
		return vm_dns1035_label(name, out);
	case VNAME_PATH_SEGMENT:
		return vm_path_segment(name, prefix, out);
	case VNAME_NONE:
		break;
	}
	return 0;
}

bool v_is_ipv4(const char *s)
{
	struct in_addr a;
	return inet_pton(AF_INET, s, &a) == 1;
}

bool v_is_ip(const char *s)
{
	struct in6_addr a6;
	return v_is_ipv4(s) || inet_pton(AF_INET6, s, &a6) == 1;
}

bool v_is_cidr(const char *s)
{
	const char *slash = strchr(s, '/');
	if (!slash || slash == s || slash - s >= 64 || !slash[1])
		return false;
	char addr[64];
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = 0;
	char *end;
	long bits = strtol(slash + 1, &end, 10);
	if (*end || !isdigit((unsigned char)slash[1]) || bits < 0)
		return false;
	if (v_is_ipv4(addr))
		return bits <= 32;
	return v_is_ip(addr) && bits <= 128;
}

bool v_quantity(const char *s, long double *out)
{
	quantity q;
	terr *e = NULL;
	if (!s || quantity_parse(s, &q, &e) < 0) {
		terr_free(e);
		return false;
	}
	*out = (long double)q.nanos / 1e9L;
	return true;
}

/* ---- public predicates -------------------------------------------------------------- */

bool valid_dns1123_label(const char *s)
{
	vmsgs m = {0};
	return s && vm_dns1123_label(s, &m) == 0;
}

bool valid_dns1123_subdomain(const char *s)
{
	vmsgs m = {0};
	return s && vm_dns1123_subdomain(s, &m) == 0;
}

bool valid_dns1035_label(const char *s)
{
	vmsgs m = {0};
	return s && vm_dns1035_label(s, &m) == 0;
}

bool valid_qualified_name(const char *s)
{
	vmsgs m = {0};
	return s && vm_qualified_name(s, &m) == 0;
}

bool valid_label_value(const char *s)
{
	vmsgs m = {0};
	return s && vm_label_value(s, &m) == 0;
}

bool valid_config_map_key(const char *s)
{
	vmsgs m = {0};
	return s && vm_config_map_key(s, &m) == 0;
}

bool valid_port_name(const char *s)
{
	vmsgs m = {0};
	return s && vm_port_name(s, &m) == 0;
}

bool valid_path_segment_name(const char *s)
{
	vmsgs m = {0};
	return s && vm_path_segment(s, false, &m) == 0;
}
