/* controller-internal.h — what the controller machinery's files share: queue processing,
 * informer set-up, and the table of controllers (each defined in its own file). */
#ifndef TIMON_CONTROLLERS_INTERNAL_H
#define TIMON_CONTROLLERS_INTERNAL_H

#include <uv.h>

#include "controllers/controller.h"

void controller_queue_init(controller *c, uv_loop_t *loop);
size_t controller_process(controller *c, size_t budget);
bool controller_pending(const controller *c);
void *controller_inform(controller *c, const controller_watch *w);
void controller_uninform(controller *c, void *handle);
/* Wakes the manager so queued keys are processed on this loop iteration. */
void controllers_kick(void);

/* Controllers register themselves from their own file, so adding one touches no shared
 * table: CONTROLLER_REGISTER(my_controller); after its definition. (The binary links the
 * library whole, so such files are always present.) */
void controller_register(const controller_def *def);
#define CONTROLLER_REGISTER(def)                                                          \
	__attribute__((constructor)) static void register_##def(void)                      \
	{                                                                                  \
		controller_register(&def);                                                 \
	}

/* The controllers, one file each. */
extern const controller_def deployment_controller;
extern const controller_def replicaset_controller;
extern const controller_def serviceaccount_controller;

#endif
