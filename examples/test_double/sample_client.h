/* SPDX-License-Identifier: MIT */
/* A small BITS client, the kind of code docs/test-double.md shows how to test: it fetches one
 * file in the background with the header its server wants, and later finishes the job. It knows
 * nothing of openbits; its tests (test_sample_client.c in C with cmocka, test_sample_client.cpp
 * in C++) steer openbits' test double around it. */
#ifndef SAMPLE_CLIENT_H
#define SAMPLE_CLIENT_H

#include <windows.h>
#include <objbase.h>
#include "bits.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The header every request of the client carries. */
#define SAMPLE_CLIENT_HEADER L"X-Sample-Client: 1.0"
/* Seconds between retries the client asks BITS for. */
#define SAMPLE_CLIENT_RETRY_DELAY 60

/* Starts downloading url to path: a job with the client's header and retry delay, resumed.
 * *id names the job for sample_finish. */
HRESULT sample_start(IBackgroundCopyManager *manager, const WCHAR *url, const WCHAR *path, GUID *id);

/* What became of the job: S_OK when its file is in place (the job completed), the job's error
 * code when it failed (the job cancelled), S_FALSE while it is still going. */
HRESULT sample_finish(IBackgroundCopyManager *manager, const GUID *id);

#ifdef __cplusplus
}
#endif

#endif
