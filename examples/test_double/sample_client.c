/* SPDX-License-Identifier: MIT */
/* The sample client (see sample_client.h). */
#include "sample_client.h"

HRESULT sample_start(IBackgroundCopyManager *manager, const WCHAR *url, const WCHAR *path, GUID *id)
{
    IBackgroundCopyJobHttpOptions *options;
    IBackgroundCopyJob *job;
    HRESULT hr;

    if (FAILED(hr = IBackgroundCopyManager_CreateJob(manager, L"sample client", BG_JOB_TYPE_DOWNLOAD, id, &job)))
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

HRESULT sample_finish(IBackgroundCopyManager *manager, const GUID *id)
{
    IBackgroundCopyError *error;
    IBackgroundCopyJob *job;
    BG_ERROR_CONTEXT context;
    BG_JOB_STATE state;
    HRESULT hr, code;

    if (FAILED(hr = IBackgroundCopyManager_GetJob(manager, id, &job))) return hr;
    if (FAILED(hr = IBackgroundCopyJob_GetState(job, &state))) goto done;
    switch (state)
    {
    case BG_JOB_STATE_TRANSFERRED:
        hr = IBackgroundCopyJob_Complete(job);
        break;
    case BG_JOB_STATE_ERROR:
        if (SUCCEEDED(hr = IBackgroundCopyJob_GetError(job, &error)))
        {
            if (SUCCEEDED(hr = IBackgroundCopyError_GetError(error, &context, &code))) hr = code;
            IBackgroundCopyError_Release(error);
        }
        IBackgroundCopyJob_Cancel(job);
        break;
    default:
        hr = S_FALSE;
        break;
    }
done:
    IBackgroundCopyJob_Release(job);
    return hr;
}
