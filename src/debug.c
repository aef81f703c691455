/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "debug.h"

static LONG trace_level = -1;       /* -1 until read from the environment */

BOOL trace_enabled(enum trace_level level)
{
    LONG current = trace_level;

    if (current < 0)
    {
        char value[16];
        DWORD error = GetLastError();
        DWORD len = GetEnvironmentVariableA("OPENBITS_DEBUG", value, sizeof(value));

        current = TRACE_LEVEL_ERR;
        if (len && len < sizeof(value))
        {
            if (!_stricmp(value, "trace")) current = TRACE_LEVEL_TRACE;
            else if (!_stricmp(value, "warn")) current = TRACE_LEVEL_WARN;
            else if (!_stricmp(value, "off")) current = 0;
        }
        InterlockedExchange(&trace_level, current);
        SetLastError(error);
    }
    return (LONG)level <= current;
}

void trace_printf(enum trace_level level, const char *func, const char *format, ...)
{
    static const char *const names[] = { "", "err", "warn", "trace" };
    char buffer[1024];
    DWORD error = GetLastError();
    va_list args;
    int len;

    len = snprintf(buffer, sizeof(buffer), "openbits:%s:%lx:%s ", names[level],
                   GetCurrentThreadId(), func);
    if (len < 0 || (size_t)len >= sizeof(buffer)) len = 0;
    va_start(args, format);
    vsnprintf(buffer + len, sizeof(buffer) - len, format, args);
    va_end(args);
    OutputDebugStringA(buffer);
    SetLastError(error);
}

static char *debug_buffer(void)
{
    static __thread char ring[4][128];
    static __thread unsigned int next;
    return ring[next++ % 4];
}

const char *debugstr_guid(const GUID *guid)
{
    char *buffer = debug_buffer();

    if (!guid) return "(null)";
    snprintf(buffer, 128, "{%08lx-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x}",
             guid->Data1, guid->Data2, guid->Data3, guid->Data4[0], guid->Data4[1],
             guid->Data4[2], guid->Data4[3], guid->Data4[4], guid->Data4[5],
             guid->Data4[6], guid->Data4[7]);
    return buffer;
}

const char *debugstr_w(const WCHAR *str)
{
    char *buffer = debug_buffer();

    if (!str) return "(null)";
    snprintf(buffer, 128, "L\"%.100ls\"", str);
    return buffer;
}
