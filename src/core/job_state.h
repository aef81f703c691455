/* SPDX-License-Identifier: MIT */
/* The job state word and the one table of legal transitions (BITS-SPEC.md §3.2).
 * Platform-free: no COM objects, no locks; callers hold the service lock. */
#ifndef OPENBITS_CORE_JOB_STATE_H
#define OPENBITS_CORE_JOB_STATE_H

#include <windows.h>
#include "bits.h"

#define JOB_STATE_COUNT (BG_JOB_STATE_CANCELLED + 1)

/* ACKNOWLEDGED and CANCELLED: the job has left the queue and nothing changes it any more. */
BOOL job_state_is_final(BG_JOB_STATE state);
/* TRUE when the table allows from -> to. */
BOOL job_state_allowed(BG_JOB_STATE from, BG_JOB_STATE to);
/* The only writer of a job's state word. S_OK, or BG_E_INVALID_STATE (state unchanged). */
HRESULT job_state_transition(BG_JOB_STATE *state, BG_JOB_STATE to);

#endif
