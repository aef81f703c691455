/* SPDX-License-Identifier: MIT */
/* The sample client (see sample_client.h). */
#include "sample_client.h"

/* A job of that type with one file, the client's header and retry delay, resumed. */
static HRESULT start_job(IBackgroundCopyManager *manager, BG_JOB_TYPE type, const WCHAR *url, const WCHAR *path,
                         GUID *id)
{
    IBackgroundCopyJobHttpOptions *options;
    IBackgroundCopyJob *job;
    HRESULT hr;

    if (FAILED(hr = IBackgroundCopyManager_CreateJob(manager, L"sample client", type, id, &job)))
        return hr;
    if (SUCCEEDED(hr = IBackgroundCopyJob_QueryInterface(job, &IID_IBackgroundCopyJobHttpOptions, (void **)&options)))
    {
        hr = IBackgroundCopyJobHttpOptions_SetCustomHeaders(options, SAMPLE_CLIENT_HEADER);
        IBackgroundCopyJobHttpOptions_Release(options);
    }
    if (SUCCEEDED(hr)) hr = IBackgroundCopyJob_SetMinimumRetryDelay(job, SAMPLE_CLIENT_RETRY_DELAY);
    if (SUCCEEDED(hr)) hr = IBackgroundCopyJob_AddFile(job, url, path);
    if (SUCCEEDED(hr)) hr = IBackgroundCopyJob_Resume(job);
    if (FAILED(hr)) IBackgroundCopyJob_Cancel(job);
    IBackgroundCopyJob_Release(job);
    return hr;
}

HRESULT sample_start(IBackgroundCopyManager *manager, const WCHAR *url, const WCHAR *path, GUID *id)
{
    return start_job(manager, BG_JOB_TYPE_DOWNLOAD, url, path, id);
}

HRESULT sample_send(IBackgroundCopyManager *manager, const WCHAR *url, const WCHAR *path, GUID *id)
{
    return start_job(manager, BG_JOB_TYPE_UPLOAD_REPLY, url, path, id);
}

/* The job's error code, and the job cancelled. */
static HRESULT give_up(IBackgroundCopyJob *job)
{
    IBackgroundCopyError *error;
    BG_ERROR_CONTEXT context;
    HRESULT hr, code;

    if (SUCCEEDED(hr = IBackgroundCopyJob_GetError(job, &error)))
    {
        if (SUCCEEDED(hr = IBackgroundCopyError_GetError(error, &context, &code))) hr = code;
        IBackgroundCopyError_Release(error);
    }
    IBackgroundCopyJob_Cancel(job);
    return hr;
}

HRESULT sample_reply(IBackgroundCopyManager *manager, const GUID *id, BYTE **reply, UINT64 *size)
{
    IBackgroundCopyJob2 *job2;
    IBackgroundCopyJob *job;
    BG_JOB_STATE state;
    HRESULT hr;

    *reply = NULL;
    *size = 0;
    if (FAILED(hr = IBackgroundCopyManager_GetJob(manager, id, &job))) return hr;
    if (SUCCEEDED(hr = IBackgroundCopyJob_GetState(job, &state)))
    {
        if (state == BG_JOB_STATE_TRANSFERRED)
        {
            if (SUCCEEDED(hr = IBackgroundCopyJob_QueryInterface(job, &IID_IBackgroundCopyJob2, (void **)&job2)))
            {
                hr = IBackgroundCopyJob2_GetReplyData(job2, reply, size);
                IBackgroundCopyJob2_Release(job2);
            }
            if (SUCCEEDED(hr)) hr = IBackgroundCopyJob_Complete(job);
        }
        else if (state == BG_JOB_STATE_ERROR)
            hr = give_up(job);
        else
            hr = S_FALSE;
    }
    IBackgroundCopyJob_Release(job);
    return hr;
}

HRESULT sample_finish(IBackgroundCopyManager *manager, const GUID *id)
{
    IBackgroundCopyJob *job;
    BG_JOB_STATE state;
    HRESULT hr;

    if (FAILED(hr = IBackgroundCopyManager_GetJob(manager, id, &job))) return hr;
    if (FAILED(hr = IBackgroundCopyJob_GetState(job, &state))) goto done;
    switch (state)
    {
    case BG_JOB_STATE_TRANSFERRED:
        hr = IBackgroundCopyJob_Complete(job);
        break;
    case BG_JOB_STATE_ERROR:
        hr = give_up(job);
        break;
    default:
        hr = S_FALSE;
        break;
    }
done:
    IBackgroundCopyJob_Release(job);
    return hr;
}
