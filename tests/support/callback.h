/* SPDX-License-Identifier: MIT */
/* A BITS client's notification object (IBackgroundCopyCallback2) for the transfer tests
 * (test_download.c, test_upload.c): it records what it is told and sets events, and the waits
 * below are bounded and dispatch messages, as an STA client's must. */
#ifndef OPENBITS_TEST_CALLBACK_H
#define OPENBITS_TEST_CALLBACK_H

#include "com_test.h"

#define CALLBACK_WAIT_MS 60000              /* bound on any wait for a job */

struct callback
{
    IBackgroundCopyCallback2 IBackgroundCopyCallback2_iface;
    LONG refcount;
    HANDLE transferred, error;              /* manual-reset events */
    HANDLE modified;                        /* auto-reset: a JobModification came */
    HANDLE released;                        /* manual-reset: back to our own reference */
    LONG files;                             /* FileTransferred calls */
    LONG transferred_calls;                 /* JobTransferred calls */
    LONG fail_transferred;                  /* answer E_FAIL to this many JobTransferred calls */
    DWORD thread;                           /* the thread of the last JobTransferred/JobError */
    HRESULT error_code;
    BG_ERROR_CONTEXT error_context;
};

void callback_init(struct callback *callback);
/* After the client released the job: the job lets the callback go when it is destroyed, which
 * may be on a worker that is finishing a delivery (bounded wait). */
void callback_cleanup(struct callback *callback);
/* Waits (bounded) for one of `count` events while dispatching messages: the index of the
 * event, or -1 when the time ran out. */
int pump_wait(DWORD count, const HANDLE *events);
/* Waits (bounded) until the job is in one of two states, woken by its JobModification,
 * JobTransferred and JobError callbacks; returns the state (fails the test past the bound). */
BG_JOB_STATE wait_for_state(IBackgroundCopyJob *job, struct callback *callback, BG_JOB_STATE a, BG_JOB_STATE b);

#endif
