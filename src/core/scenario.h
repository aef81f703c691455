/* SPDX-License-Identifier: MIT */
/* Scenario files (docs/test-double.md): their sections and keys turned into the test double's
 * settings and rules, platform-free. The file itself is read by Windows' INI API in the shell
 * (src/test_double.c: GetPrivateProfileSectionNamesW, GetPrivateProfileSectionW), which hands
 * each section name and each "key=value" line here in file order.
 *
 * The section [openbits] holds the settings (time, unmatched, unmatched-error); every other
 * section is one rule, in file order. Any mistake makes the whole scenario invalid: *error then
 * says where and why, and the caller applies nothing. */
#ifndef OPENBITS_CORE_SCENARIO_H
#define OPENBITS_CORE_SCENARIO_H

#include <windows.h>
#include "core/script.h"

struct scenario_rule
{
    WCHAR *section;
    struct script_rule_spec spec;         /* its pointers point at the fields below */
    WCHAR *pattern, *headers, *content_file;
    BYTE *content;
    ULONG seen;                           /* keys given, one bit each (repeats are mistakes) */
};

struct scenario
{
    BOOL time_set, virtual_time;
    BOOL unmatched_set, fail_unmatched;
    HRESULT unmatched_error;
    struct scenario_rule *rules;
    size_t count, capacity;
    char error[512];                      /* the first mistake, "" when none */

    BOOL in_settings;                     /* reading [openbits] */
    size_t current;                       /* else the rule being read */
    ULONG settings_seen;
};

void scenario_init(struct scenario *scenario);
void scenario_free(struct scenario *scenario);
/* A new section begins. E_INVALIDARG (with scenario->error) on a mistake. */
HRESULT scenario_section(struct scenario *scenario, const WCHAR *name);
/* One line of the current section: "key=value" as the INI API returns it (spaces around the key
 * and the value are ignored, and so are one pair of double quotes around the value). */
HRESULT scenario_line(struct scenario *scenario, const WCHAR *line);
/* The end: checks every rule as script_rule_create would (a content-file rule without its
 * content yet). */
HRESULT scenario_finish(struct scenario *scenario);

/* The error names of scenario files ("connect", "name", "timeout", "tls", "reset") or a number
 * (an HRESULT, or a Win32 code below 0x10000). FALSE when it is neither. */
BOOL scenario_parse_error(const WCHAR *value, HRESULT *code);

#endif
