/* kubeconfig.c — renders the admin kubeconfig (clientcmd v1 Config) from the cluster's
 * PKI files. The output is plain block YAML with every variable value quoted or base64,
 * so no YAML emitter is needed. Not for: parsing kubeconfigs. */
#include "base/kubeconfig.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/pki.h"
#include "base/util.h"

/* Appends the base64 (one line, no wrapping) of a file of <data_dir>/tls/. */
static int add_b64_file(buf *b, const char *data_dir, const char *name, terr **err)
{
	_cleanup_free_ char *path = xasprintf("%s/tls/%s", data_dir, name);
	_cleanup_free_ char *data = NULL;
	size_t n;
	if (pki_read_file(path, &data, &n, err) < 0)
		return -1;
	if (n > (size_t)INT32_MAX / 2)
		return terr_internal(err, "%s: file too large", path);
	_cleanup_free_ unsigned char *out = xmalloc(4 * ((n + 2) / 3) + 1);
	int len = EVP_EncodeBlock(out, (const unsigned char *)data, (int)n);
	buf_add(b, out, (size_t)len);
	return 0;
}

int kubeconfig_write(const char *path, const char *server_url, const char *data_dir, terr **err)
{
	_cleanup_buf_ buf b = {0};
	buf_puts(&b, "apiVersion: v1\nkind: Config\nclusters:\n- name: timon\n  cluster:\n"
	             "    server: ");
	/* A JSON string literal is a valid YAML double-quoted scalar. */
	buf_json_str(&b, server_url, strlen(server_url));
	buf_puts(&b, "\n    certificate-authority-data: ");
	if (add_b64_file(&b, data_dir, PKI_CA_CRT, err) < 0)
		return -1;
	buf_puts(&b, "\nusers:\n- name: timon\n  user:\n    client-certificate-data: ");
	if (add_b64_file(&b, data_dir, PKI_ADMIN_CRT, err) < 0)
		return -1;
	buf_puts(&b, "\n    client-key-data: ");
	if (add_b64_file(&b, data_dir, PKI_ADMIN_KEY, err) < 0)
		return -1;
	buf_puts(&b, "\ncontexts:\n- name: timon\n  context:\n    cluster: timon\n    user: timon\n"
	             "current-context: timon\npreferences: {}\n");
	if (pki_write_file_atomic(path, b.p, b.n, 0600, err) < 0)
		return terr_wrap(err, "write kubeconfig");
	return 0;
}
