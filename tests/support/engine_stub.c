/* SPDX-License-Identifier: MIT */
/* src/engine_host.c for unit tests of the object model (unit_job_internals): the engine is set
 * up with a clock and no transports, and no worker ever starts, so a job moves only when the
 * test moves it. Events are dropped undelivered. */
#include <stdlib.h>

#include "engine_host.h"
#include "job.h"

static UINT64 stub_now(void *context)
{
    return GetTickCount64();
}

static void stub_system_time(void *context, FILETIME *time)
{
    GetSystemTimeAsFileTime(time);
}

static const struct engine_clock_ops stub_clock = { stub_now, stub_system_time };

static void stub_event(void *context, struct engine_job *job, enum engine_event_kind kind, struct engine_file *file)
{
}

static void *stub_snapshot_options(void *context, struct engine_job *job)
{
    return NULL;
}

static void stub_free_options(void *context, void *options)
{
}

static HRESULT stub_new_temp_name(void *context, struct engine_file *file)
{
    return E_FAIL;
}

static const struct engine_host_ops stub_host = { stub_event, stub_snapshot_options, stub_free_options, stub_new_temp_name };

HRESULT engine_host_init(struct service *service)
{
    engine_init(&service->engine);
    service->engine.clock = &stub_clock;
    service->engine.host = &stub_host;
    service->engine.host_context = service;
    return S_OK;
}

void engine_host_destroy(struct service *service)
{
}

void service_wake(struct service *service, BOOL start)
{
}

void service_wait_idle(struct service *service, struct job *job)
{
}

void service_deliver_events(struct service *service)
{
}

void service_drop_events(struct service *service, struct job *job)
{
}

BOOL service_on_worker_locked(struct service *service)
{
    return FALSE;                         /* no worker ever runs */
}
