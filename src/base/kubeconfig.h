/* kubeconfig.h — writes the kubeconfig file that kubectl and client libraries use to reach
 * this cluster as the admin user. Not for: reading kubeconfigs (the agent's join flow
 * carries its own settings) or issuing certificates (base/pki.h). */
#ifndef TIMON_BASE_KUBECONFIG_H
#define TIMON_BASE_KUBECONFIG_H

#include "base/error.h"

/* Writes path (mode 0600, atomically): one cluster, user and context, all named "timon",
 * current-context timon, server server_url, and the CA, admin.crt and admin.key of
 * <data_dir>/tls/ embedded as base64 (*-data fields). 0 or -1. */
int kubeconfig_write(const char *path, const char *server_url, const char *data_dir, terr **err);

#endif
