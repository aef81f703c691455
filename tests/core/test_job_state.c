/* SPDX-License-Identifier: MIT */
/* The job state table (src/core/job_state.c): all 81 (from, to) pairs against a matrix that
 * reads as the specification (BITS-SPEC.md §3.2). Runs natively and under Wine. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/job_state.h"

/* Rows: from. Columns: to, in BG_JOB_STATE order
 *              QUE CON TRA SUS ERR TER TED ACK CAN */
static const int expected[JOB_STATE_COUNT][JOB_STATE_COUNT] =
{
    /* QUEUED */ { 0,  1,  1,  1,  1,  1,  0,  1,  1 },
    /* CONN.  */ { 0,  0,  1,  1,  1,  1,  1,  1,  1 },
    /* TRANS. */ { 1,  0,  0,  1,  1,  1,  1,  1,  1 },
    /* SUSP.  */ { 1,  0,  0,  0,  1,  0,  0,  1,  1 },   /* ERR: SetValidationState(FALSE) */
    /* ERROR  */ { 1,  0,  0,  1,  0,  0,  0,  1,  1 },
    /* T.ERR  */ { 1,  0,  0,  1,  1,  0,  0,  1,  1 },
    /* TRANSF */ { 1,  0,  0,  1,  1,  0,  0,  1,  1 },
    /* ACK    */ { 0,  0,  0,  0,  0,  0,  0,  0,  0 },
    /* CANC.  */ { 0,  0,  0,  0,  0,  0,  0,  0,  0 },
};

static void test_transition_matrix(void **state)
{
    int from, to;

    for (from = 0; from < JOB_STATE_COUNT; ++from)
    {
        for (to = 0; to < JOB_STATE_COUNT; ++to)
        {
            BG_JOB_STATE word = from;
            HRESULT hr = job_state_transition(&word, to);

            if (job_state_allowed(from, to) != expected[from][to])
                fail_msg("transition %d -> %d: table says %d, spec matrix %d", from, to,
                         job_state_allowed(from, to), expected[from][to]);
            if (expected[from][to])
            {
                assert_int_equal(hr, S_OK);
                assert_int_equal(word, to);
            }
            else
            {
                assert_int_equal((uint32_t)hr, (uint32_t)BG_E_INVALID_STATE);
                assert_int_equal(word, from);     /* a refused transition changes nothing */
            }
        }
    }
}

static void test_final_states(void **state)
{
    int s;

    for (s = 0; s < JOB_STATE_COUNT; ++s)
        assert_int_equal(job_state_is_final(s), s == BG_JOB_STATE_ACKNOWLEDGED || s == BG_JOB_STATE_CANCELLED);
}

static void test_out_of_range_states(void **state)
{
    BG_JOB_STATE word = BG_JOB_STATE_SUSPENDED;

    assert_false(job_state_allowed(JOB_STATE_COUNT, BG_JOB_STATE_QUEUED));
    assert_false(job_state_allowed(BG_JOB_STATE_SUSPENDED, JOB_STATE_COUNT));
    assert_int_equal((uint32_t)job_state_transition(&word, JOB_STATE_COUNT), (uint32_t)BG_E_INVALID_STATE);
    assert_int_equal(word, BG_JOB_STATE_SUSPENDED);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test(test_transition_matrix),
        cmocka_unit_test(test_final_states),
        cmocka_unit_test(test_out_of_range_states),
    };
    return cmocka_run_group_tests_name("job_state", tests, NULL, NULL);
}
