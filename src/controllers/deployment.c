/* deployment.c — placeholder until the Deployment controller lands: it watches
 * Deployments and does nothing yet. */
#include "controllers/controller-internal.h"

static int reconcile(controller *c, const char *key)
{
	(void)c;
	(void)key;
	return RECONCILE_DONE;
}

const controller_def deployment_controller = {
	.name = "deployment-controller",
	.watches = {{.group = "apps", .resource = "deployments"}},
	.reconcile = reconcile,
};
