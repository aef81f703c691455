/* SPDX-License-Identifier: MIT */
#include "job_state.h"

#define FROM(s) (1u << BG_JOB_STATE_##s)
#define NON_FINAL (FROM(QUEUED) | FROM(CONNECTING) | FROM(TRANSFERRING) | FROM(SUSPENDED) \
                   | FROM(ERROR) | FROM(TRANSIENT_ERROR) | FROM(TRANSFERRED))

/* allowed_sources[to] is the set of states a job may enter `to` from (BITS-SPEC.md §3.2).
 * Cells the spec marks unconfirmed, and why we allow them:
 * - SUSPENDED from ERROR and TRANSFERRED: Suspend "works in any non-final state"; a client
 *   expects Suspend to succeed and the job to stay put until Resume.
 * - QUEUED from TRANSFERRED: AddFile + Resume on a transferred job queues the new file.
 * - ERROR from SUSPENDED: SetValidationState(FALSE) on a transferred file of a suspended job
 *   ("TRANSFERRED/any" in the table) fails the job. */
static const unsigned int allowed_sources[JOB_STATE_COUNT] =
{
    [BG_JOB_STATE_QUEUED]          = FROM(SUSPENDED) | FROM(TRANSFERRING) | FROM(ERROR)
                                   | FROM(TRANSIENT_ERROR) | FROM(TRANSFERRED),
    [BG_JOB_STATE_CONNECTING]      = FROM(QUEUED),
    [BG_JOB_STATE_TRANSFERRING]    = FROM(QUEUED) | FROM(CONNECTING),
    [BG_JOB_STATE_SUSPENDED]       = NON_FINAL & ~FROM(SUSPENDED),
    [BG_JOB_STATE_ERROR]           = FROM(QUEUED) | FROM(CONNECTING) | FROM(TRANSFERRING)
                                   | FROM(TRANSIENT_ERROR) | FROM(TRANSFERRED) | FROM(SUSPENDED),
    [BG_JOB_STATE_TRANSIENT_ERROR] = FROM(QUEUED) | FROM(CONNECTING) | FROM(TRANSFERRING),
    [BG_JOB_STATE_TRANSFERRED]     = FROM(CONNECTING) | FROM(TRANSFERRING),
    [BG_JOB_STATE_ACKNOWLEDGED]    = NON_FINAL,
    [BG_JOB_STATE_CANCELLED]       = NON_FINAL,
};
#undef FROM

BOOL job_state_is_final(BG_JOB_STATE state)
{
    return state == BG_JOB_STATE_ACKNOWLEDGED || state == BG_JOB_STATE_CANCELLED;
}

BOOL job_state_allowed(BG_JOB_STATE from, BG_JOB_STATE to)
{
    if ((unsigned int)from >= JOB_STATE_COUNT || (unsigned int)to >= JOB_STATE_COUNT) return FALSE;
    return (allowed_sources[to] >> from) & 1;
}

HRESULT job_state_transition(BG_JOB_STATE *state, BG_JOB_STATE to)
{
    if (!job_state_allowed(*state, to)) return BG_E_INVALID_STATE;
    *state = to;
    return S_OK;
}
