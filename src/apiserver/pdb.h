/* pdb.h — PodDisruptionBudget status helpers shared by the eviction subresource
 * (admission_pdb.c) and the disruption controller. */
#ifndef TIMON_APISERVER_PDB_H
#define TIMON_APISERVER_PDB_H

#include <jansson.h>
#include <stdint.h>

/* k8s: UpdateDisruptionAllowedCondition: sets status.conditions' DisruptionAllowed from
 * status.disruptionsAllowed (True/SufficientPods or False/InsufficientPods). */
void pdb_update_allowed_condition(json_t *pdb, int64_t now_ns);
/* k8s: apimeta.SetStatusCondition on status.conditions of obj: lastTransitionTime moves
 * only when the status changes. message may be "". */
void pdb_set_condition(json_t *obj, const char *type, const char *status, const char *reason,
                       const char *message, int64_t now_ns);

#endif
