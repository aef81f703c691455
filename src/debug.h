/* SPDX-License-Identifier: MIT */
/* Tracing. OPENBITS_DEBUG=trace|warn|err (read once, lazily) chooses the level; the sink is
 * OutputDebugStringA (WINEDEBUG=+debugstr shows it under Wine). The macros are statements
 * and never change control flow. */
#ifndef OPENBITS_DEBUG_H
#define OPENBITS_DEBUG_H

#include <windows.h>

enum trace_level { TRACE_LEVEL_ERR = 1, TRACE_LEVEL_WARN = 2, TRACE_LEVEL_TRACE = 3 };

BOOL trace_enabled(enum trace_level level);
void trace_printf(enum trace_level level, const char *func, const char *format, ...)
    __attribute__((format(gnu_printf, 3, 4)));
/* Returns a string from a small per-thread ring; for traces only. */
const char *debugstr_guid(const GUID *guid);
const char *debugstr_w(const WCHAR *str);

#define TRACE(...) do { if (trace_enabled(TRACE_LEVEL_TRACE)) trace_printf(TRACE_LEVEL_TRACE, __func__, __VA_ARGS__); } while (0)
#define WARN(...)  do { if (trace_enabled(TRACE_LEVEL_WARN)) trace_printf(TRACE_LEVEL_WARN, __func__, __VA_ARGS__); } while (0)
#define ERR(...)   do { if (trace_enabled(TRACE_LEVEL_ERR)) trace_printf(TRACE_LEVEL_ERR, __func__, __VA_ARGS__); } while (0)

#endif
