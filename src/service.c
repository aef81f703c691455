/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "engine_host.h"
#include "service.h"
#include "test_double.h"

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
    struct test_double_settings settings;
    struct service_limits limits;
    struct service *service;
    BOOL want_scenario = !__atomic_load_n(&the_service, __ATOMIC_ACQUIRE);
    HRESULT hr = S_OK;

    *out = NULL;
again:
    /* The registry and the test double's scenario file are read before the lock (I/O); the
     * scenario only when a service is likely to be created. */
    read_limits(&limits);
    test_double_read_settings(&settings, want_scenario);
    AcquireSRWLockExclusive(&service_global_lock);
    if ((service = the_service))
        InterlockedIncrement(&service->refcount);
    else if (settings.enabled && !want_scenario)
    {
        ReleaseSRWLockExclusive(&service_global_lock);
        test_double_settings_free(&settings);
        want_scenario = TRUE;
        goto again;
    }
    else if ((service = calloc(1, sizeof(*service))))
    {
        service->refcount = 1;
        service->base = 1;
        InitializeSRWLock(&service->lock);
        queue_init(&service->jobs);
        service->limits = limits;
        module_lock();
        if (FAILED(hr = engine_host_init(service))
                || (settings.enabled && FAILED(hr = test_double_create(service, &settings))))
        {
            service_release_base(service);
            service = NULL;
        }
        else
            the_service = service;
    }
    else
        hr = E_OUTOFMEMORY;
    ReleaseSRWLockExclusive(&service_global_lock);
    test_double_settings_free(&settings);

    if (FAILED(hr)) return hr;
    *out = service;
    return S_OK;
}

void service_release_base(struct service *service)
{
    ULONG i;

    if (InterlockedDecrement(&service->base)) return;
    /* Every queued job holds a service reference, so the queue is empty here. The test double
     * goes first: it gives the engine its real transports back. */
    test_double_destroy(service);
    engine_host_destroy(service);
    for (i = 0; i < service->worker_count; ++i) CloseHandle(service->workers[i]);
    queue_destroy(&service->jobs);
    free(service);
    module_unlock();
}

void service_put(struct service *service)
{
    HANDLE workers[MAX_WORKERS];
    BOOL on_worker;
    ULONG count;

    AcquireSRWLockExclusive(&service_global_lock);
    if (InterlockedDecrement(&service->refcount))
        service = NULL;
    else
        the_service = NULL;
    ReleaseSRWLockExclusive(&service_global_lock);
    if (!service) return;

    /* The last user: the workers leave; wait for them, so that the DLL's objects are all gone
     * when this returns (DllCanUnloadNow), unless this thread is one of them. */
    service_lock(service);
    service->stopping = TRUE;
    WakeAllConditionVariable(&service->work);
    count = service->worker_count;
    memcpy(workers, service->workers, count * sizeof(*workers));
    on_worker = service_on_worker_locked(service);
    service_unlock(service);
    if (count && !on_worker) WaitForMultipleObjects(count, workers, TRUE, INFINITE);
    service_release_base(service);
}
