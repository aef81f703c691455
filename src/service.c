/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "service.h"

/* Guards the_service (the pointer), not the service's contents. */
static SRWLOCK service_global_lock = SRWLOCK_INIT;
static struct service *the_service;   /* [service_global_lock] */

static ULONG policy_value(HKEY key, const WCHAR *name, ULONG fallback)
{
    DWORD value, size = sizeof(value), type;

    if (!key || RegQueryValueExW(key, name, NULL, &type, (BYTE *)&value, &size) || type != REG_DWORD)
        return fallback;
    return value;
}

/* Registry reads are I/O: done before any lock is taken. */
static void read_limits(struct service_limits *limits)
{
    HKEY key = NULL;

    if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, L"Software\\Policies\\Microsoft\\Windows\\BITS", 0,
                      KEY_QUERY_VALUE, &key))
        key = NULL;
    limits->jobs_per_machine = policy_value(key, L"MaxJobsPerMachine", 300);
    limits->jobs_per_user = policy_value(key, L"MaxJobsPerUser", 60);
    limits->files_per_job = policy_value(key, L"MaxFilesPerJob", 200);
    if (key) RegCloseKey(key);
}

HRESULT service_get(struct service **out)
{
    struct service_limits limits;
    struct service *service;

    *out = NULL;
    read_limits(&limits);
    AcquireSRWLockExclusive(&service_global_lock);
    if ((service = the_service))
        InterlockedIncrement(&service->refcount);
    else if ((service = calloc(1, sizeof(*service))))
    {
        service->refcount = 1;
        InitializeSRWLock(&service->lock);
        queue_init(&service->jobs);
        service->limits = limits;
        module_lock();
        the_service = service;
    }
    ReleaseSRWLockExclusive(&service_global_lock);

    if (!service) return E_OUTOFMEMORY;
    *out = service;
    return S_OK;
}

void service_put(struct service *service)
{
    AcquireSRWLockExclusive(&service_global_lock);
    if (InterlockedDecrement(&service->refcount))
        service = NULL;
    else
        the_service = NULL;
    ReleaseSRWLockExclusive(&service_global_lock);

    if (!service) return;
    /* Every queued job holds a service reference, so the queue is empty here. */
    queue_destroy(&service->jobs);
    free(service);
    module_unlock();
}
