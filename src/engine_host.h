/* SPDX-License-Identifier: MIT */
/* The engine's seams and workers (engine_host.c) and the delivery of its events (notify.c). */
#ifndef OPENBITS_ENGINE_HOST_H
#define OPENBITS_ENGINE_HOST_H

#include "service.h"

/* Sets up service->engine with the real clock, files and transports. */
HRESULT engine_host_init(struct service *service);
void engine_host_destroy(struct service *service);

/* No lock held. Delivers one event: the job's notify interface (through the GIT, in the
 * client's apartment) or its command line, as BITS-SPEC.md §7 says. Returns how many ms from
 * now the event must be delivered again (a JobTransferred or JobError that failed), or 0. */
DWORD notify_deliver(struct service *service, struct service_event *event);

/* A callback that must be called again until it succeeds is called again after this long
 * ("later", at an interval BITS leaves open, §7.3 and §10.5). */
#define NOTIFY_RETRY_MS 2000

#endif
