/* SPDX-License-Identifier: MIT */
/* test_openbits_h: the published include/openbits.h against the header widl generates from
 * idl/openbits_control.idl. Both sides build a table from the same X-macro lists, each in a
 * source file that sees only its own header. */
#ifndef OPENBITS_ABI_OPENBITS_H_H
#define OPENBITS_ABI_OPENBITS_H_H

#include <stddef.h>

#define OPENBITS_H_SLOTS(X) X(QueryInterface) X(AddRef) X(Release) X(SetTimeMode) X(GetTimeMode) \
    X(GetTime) X(AdvanceTime) X(AddRule) X(RemoveRule) X(ClearRules) X(SetUnmatched) X(RunUntilIdle) \
    X(WaitForJobState) X(GetJournalCount) X(GetJournalEntry) X(ClearJournal) X(LoadScenario) X(Reset)
#define OPENBITS_H_RULE_FIELDS(X) X(pattern) X(match) X(times) X(action) X(flags) X(size) X(content_size) \
    X(content) X(content_file) X(headers) X(modified) X(reset_after) X(bytes_per_second) X(status) X(error)
#define OPENBITS_H_REQUEST_FIELDS(X) X(verb) X(url) X(headers) X(offset) X(length) X(rule) X(result) X(bytes)
#define OPENBITS_H_CONSTANTS(X) X(OPENBITS_TIME_REAL) X(OPENBITS_TIME_VIRTUAL) X(OPENBITS_MATCH_EXACT) \
    X(OPENBITS_MATCH_PREFIX) X(OPENBITS_MATCH_WILDCARD) X(OPENBITS_ACTION_SERVE) X(OPENBITS_ACTION_STATUS) \
    X(OPENBITS_ACTION_FAIL) X(OPENBITS_UNMATCHED_PASS) X(OPENBITS_UNMATCHED_FAIL) X(OPENBITS_RULE_NO_RANGES) \
    X(OPENBITS_RULE_NO_SIZE) X(OPENBITS_E_IDLE) X(OPENBITS_SIZE_OF_CONTENT)

struct openbits_h_table
{
    size_t slots[18], vtbl_size;
    size_t rule_fields[15], rule_size;
    size_t request_fields[8], request_size;
    long long constants[14];
    size_t enum_size;
    const void *iid;
};

extern const struct openbits_h_table openbits_h_generated, openbits_h_published;

#define OPENBITS_H_TABLE(name) \
    const struct openbits_h_table name = \
    { \
        { OPENBITS_H_SLOTS(SLOT) }, sizeof(IOpenBitsTestControlVtbl), \
        { OPENBITS_H_RULE_FIELDS(RULE_FIELD) }, sizeof(OPENBITS_RULE), \
        { OPENBITS_H_REQUEST_FIELDS(REQUEST_FIELD) }, sizeof(OPENBITS_REQUEST), \
        { OPENBITS_H_CONSTANTS(CONSTANT) }, sizeof(OPENBITS_MATCH), \
        &IID_IOpenBitsTestControl, \
    };
#define SLOT(m) offsetof(IOpenBitsTestControlVtbl, m),
#define RULE_FIELD(f) offsetof(OPENBITS_RULE, f),
#define REQUEST_FIELD(f) offsetof(OPENBITS_REQUEST, f),
#define CONSTANT(c) (long long)(c),

#endif
