/* SPDX-License-Identifier: MIT */
/* openbits' own public API: IOpenBitsTestControl, the test-double control interface
 * (docs/test-double.md), for C and C++ clients of openbits.dll.
 *
 * The interface is declared in idl/openbits_control.idl; this header is the same declarations
 * written out for clients that do not run widl (tests/abi/test_openbits_h.c checks that the two
 * agree). Include it after <bits.h>. IID_IOpenBitsTestControl is declared with DEFINE_GUID: one
 * source file of the client includes <initguid.h> first, as for the BITS IIDs.
 *
 * Reach the interface by QueryInterface on a BackgroundCopyManager object. openbits.dll answers
 * it only when the test double is enabled: HKLM\Software\openbits\TestDouble, DWORD value
 * Enabled = 1 (`regsvr32 /n /i:testdouble openbits.dll` sets it); otherwise E_NOINTERFACE. */
#ifndef OPENBITS_H
#define OPENBITS_H

#include <windows.h>
#include <objbase.h>
#include <bits.h>

#ifdef __cplusplus
extern "C" {
#endif

/* {805140e6-f790-4f19-a5c3-972875796df5} */
DEFINE_GUID(IID_IOpenBitsTestControl, 0x805140e6, 0xf790, 0x4f19, 0xa5, 0xc3, 0x97, 0x28, 0x75, 0x79, 0x6d, 0xf5);

/* WaitForJobState: the service went idle in virtual time without the job reaching the state;
 * nothing changes until time is advanced. */
#define OPENBITS_E_IDLE ((HRESULT)0x80040201)
/* OPENBITS_RULE.size: the content's own size. */
#define OPENBITS_SIZE_OF_CONTENT ((UINT64)0)
/* OPENBITS_RULE.flags */
#define OPENBITS_RULE_NO_RANGES 0x1     /* range requests get the whole body (HTTP 200) */
#define OPENBITS_RULE_NO_SIZE   0x2     /* the response does not say the size */

typedef enum _OPENBITS_TIME_MODE
{
    OPENBITS_TIME_REAL = 0,
    OPENBITS_TIME_VIRTUAL = 1
} OPENBITS_TIME_MODE;

typedef enum _OPENBITS_MATCH
{
    OPENBITS_MATCH_EXACT = 0,           /* the whole remote name (letter case ignored) */
    OPENBITS_MATCH_PREFIX = 1,          /* the remote name starts with the pattern */
    OPENBITS_MATCH_WILDCARD = 2         /* '*' any run of characters, '?' any one */
} OPENBITS_MATCH;

typedef enum _OPENBITS_ACTION
{
    OPENBITS_ACTION_SERVE = 0,          /* serve content (size, headers, ranges, reset, throttle) */
    OPENBITS_ACTION_STATUS = 1,         /* answer an HTTP status */
    OPENBITS_ACTION_FAIL = 2            /* fail with a transport error */
} OPENBITS_ACTION;

typedef enum _OPENBITS_UNMATCHED
{
    OPENBITS_UNMATCHED_PASS = 0,        /* requests no rule matches go to the real transport */
    OPENBITS_UNMATCHED_FAIL = 1         /* they fail with the given error */
} OPENBITS_UNMATCHED;

/* A rule: which remote names it matches, how often, and what it answers. Zero is the default of
 * every field. */
typedef struct _OPENBITS_RULE
{
    LPWSTR pattern;                     /* required */
    OPENBITS_MATCH match;
    DWORD times;                        /* applies this many times, then falls through; 0: always */
    OPENBITS_ACTION action;
    DWORD flags;                        /* OPENBITS_RULE_* */
    UINT64 size;                        /* SERVE: the body's size (the content repeats to fill it);
                                         * 0: the content's own size */
    DWORD content_size;
    BYTE *content;                      /* SERVE: the bytes ... */
    LPWSTR content_file;                /* ... or a local file's (read when the rule is added);
                                         * neither: the formula bytes of docs/test-double.md */
    LPWSTR headers;                     /* extra response headers, "Name: value\r\n..." */
    FILETIME modified;                  /* SERVE: Last-Modified; zero: none */
    UINT64 reset_after;                 /* SERVE: each connection resets after this many body
                                         * bytes; 0: never */
    UINT64 bytes_per_second;            /* SERVE: throttle; 0: no limit */
    DWORD status;                       /* STATUS: 100..599 other than 200 and 206 */
    HRESULT error;                      /* FAIL: the error, e.g. HRESULT_FROM_WIN32(12029) */
} OPENBITS_RULE;

/* One request the engine made, in the journal. */
typedef struct _OPENBITS_REQUEST
{
    LPWSTR verb;                        /* "GET", or the job's HTTP method */
    LPWSTR url;
    LPWSTR headers;                     /* the job's custom headers, then Range and If-Range */
    UINT64 offset;                      /* the first byte asked for */
    UINT64 length;                      /* bytes asked for; BG_LENGTH_TO_EOF: to the end */
    DWORD rule;                         /* the rule that answered; 0: none */
    HRESULT result;                     /* S_OK, or how the request failed (open or read) */
    UINT64 bytes;                       /* body bytes the engine received */
} OPENBITS_REQUEST;

/* Frees the strings GetJournalEntry allocated. */
static inline void OpenBitsFreeRequest(OPENBITS_REQUEST *request)
{
    CoTaskMemFree(request->verb);
    CoTaskMemFree(request->url);
    CoTaskMemFree(request->headers);
    request->verb = request->url = request->headers = NULL;
}

#if defined(__cplusplus) && !defined(CINTERFACE)

#ifdef __CRT_UUID_DECL
struct IOpenBitsTestControl;
__CRT_UUID_DECL(IOpenBitsTestControl, 0x805140e6, 0xf790, 0x4f19, 0xa5, 0xc3, 0x97, 0x28, 0x75, 0x79, 0x6d, 0xf5)
#endif

struct IOpenBitsTestControl : public IUnknown
{
    virtual HRESULT STDMETHODCALLTYPE SetTimeMode(OPENBITS_TIME_MODE mode) = 0;
    virtual HRESULT STDMETHODCALLTYPE GetTimeMode(OPENBITS_TIME_MODE *mode) = 0;
    virtual HRESULT STDMETHODCALLTYPE GetTime(UINT64 *milliseconds) = 0;
    virtual HRESULT STDMETHODCALLTYPE AdvanceTime(UINT64 milliseconds) = 0;
    virtual HRESULT STDMETHODCALLTYPE AddRule(const OPENBITS_RULE *rule, DWORD *id) = 0;
    virtual HRESULT STDMETHODCALLTYPE RemoveRule(DWORD id) = 0;
    virtual HRESULT STDMETHODCALLTYPE ClearRules(void) = 0;
    virtual HRESULT STDMETHODCALLTYPE SetUnmatched(OPENBITS_UNMATCHED policy, HRESULT error) = 0;
    virtual HRESULT STDMETHODCALLTYPE RunUntilIdle(DWORD timeout_ms) = 0;
    virtual HRESULT STDMETHODCALLTYPE WaitForJobState(REFGUID job, BG_JOB_STATE state, DWORD timeout_ms,
                                                      BG_JOB_STATE *reached) = 0;
    virtual HRESULT STDMETHODCALLTYPE GetJournalCount(DWORD *count) = 0;
    virtual HRESULT STDMETHODCALLTYPE GetJournalEntry(DWORD index, OPENBITS_REQUEST *entry) = 0;
    virtual HRESULT STDMETHODCALLTYPE ClearJournal(void) = 0;
    virtual HRESULT STDMETHODCALLTYPE LoadScenario(LPCWSTR path) = 0;
    virtual HRESULT STDMETHODCALLTYPE Reset(void) = 0;
};

#else

typedef struct IOpenBitsTestControl IOpenBitsTestControl;

typedef struct IOpenBitsTestControlVtbl
{
    HRESULT (STDMETHODCALLTYPE *QueryInterface)(IOpenBitsTestControl *This, REFIID riid, void **object);
    ULONG (STDMETHODCALLTYPE *AddRef)(IOpenBitsTestControl *This);
    ULONG (STDMETHODCALLTYPE *Release)(IOpenBitsTestControl *This);
    HRESULT (STDMETHODCALLTYPE *SetTimeMode)(IOpenBitsTestControl *This, OPENBITS_TIME_MODE mode);
    HRESULT (STDMETHODCALLTYPE *GetTimeMode)(IOpenBitsTestControl *This, OPENBITS_TIME_MODE *mode);
    HRESULT (STDMETHODCALLTYPE *GetTime)(IOpenBitsTestControl *This, UINT64 *milliseconds);
    HRESULT (STDMETHODCALLTYPE *AdvanceTime)(IOpenBitsTestControl *This, UINT64 milliseconds);
    HRESULT (STDMETHODCALLTYPE *AddRule)(IOpenBitsTestControl *This, const OPENBITS_RULE *rule, DWORD *id);
    HRESULT (STDMETHODCALLTYPE *RemoveRule)(IOpenBitsTestControl *This, DWORD id);
    HRESULT (STDMETHODCALLTYPE *ClearRules)(IOpenBitsTestControl *This);
    HRESULT (STDMETHODCALLTYPE *SetUnmatched)(IOpenBitsTestControl *This, OPENBITS_UNMATCHED policy, HRESULT error);
    HRESULT (STDMETHODCALLTYPE *RunUntilIdle)(IOpenBitsTestControl *This, DWORD timeout_ms);
    HRESULT (STDMETHODCALLTYPE *WaitForJobState)(IOpenBitsTestControl *This, REFGUID job, BG_JOB_STATE state,
                                                 DWORD timeout_ms, BG_JOB_STATE *reached);
    HRESULT (STDMETHODCALLTYPE *GetJournalCount)(IOpenBitsTestControl *This, DWORD *count);
    HRESULT (STDMETHODCALLTYPE *GetJournalEntry)(IOpenBitsTestControl *This, DWORD index, OPENBITS_REQUEST *entry);
    HRESULT (STDMETHODCALLTYPE *ClearJournal)(IOpenBitsTestControl *This);
    HRESULT (STDMETHODCALLTYPE *LoadScenario)(IOpenBitsTestControl *This, LPCWSTR path);
    HRESULT (STDMETHODCALLTYPE *Reset)(IOpenBitsTestControl *This);
} IOpenBitsTestControlVtbl;

struct IOpenBitsTestControl
{
    CONST_VTBL IOpenBitsTestControlVtbl *lpVtbl;
};

#define IOpenBitsTestControl_QueryInterface(This,riid,object) (This)->lpVtbl->QueryInterface(This,riid,object)
#define IOpenBitsTestControl_AddRef(This) (This)->lpVtbl->AddRef(This)
#define IOpenBitsTestControl_Release(This) (This)->lpVtbl->Release(This)
#define IOpenBitsTestControl_SetTimeMode(This,mode) (This)->lpVtbl->SetTimeMode(This,mode)
#define IOpenBitsTestControl_GetTimeMode(This,mode) (This)->lpVtbl->GetTimeMode(This,mode)
#define IOpenBitsTestControl_GetTime(This,ms) (This)->lpVtbl->GetTime(This,ms)
#define IOpenBitsTestControl_AdvanceTime(This,ms) (This)->lpVtbl->AdvanceTime(This,ms)
#define IOpenBitsTestControl_AddRule(This,rule,id) (This)->lpVtbl->AddRule(This,rule,id)
#define IOpenBitsTestControl_RemoveRule(This,id) (This)->lpVtbl->RemoveRule(This,id)
#define IOpenBitsTestControl_ClearRules(This) (This)->lpVtbl->ClearRules(This)
#define IOpenBitsTestControl_SetUnmatched(This,policy,error) (This)->lpVtbl->SetUnmatched(This,policy,error)
#define IOpenBitsTestControl_RunUntilIdle(This,timeout) (This)->lpVtbl->RunUntilIdle(This,timeout)
#define IOpenBitsTestControl_WaitForJobState(This,job,state,timeout,reached) (This)->lpVtbl->WaitForJobState(This,job,state,timeout,reached)
#define IOpenBitsTestControl_GetJournalCount(This,count) (This)->lpVtbl->GetJournalCount(This,count)
#define IOpenBitsTestControl_GetJournalEntry(This,index,entry) (This)->lpVtbl->GetJournalEntry(This,index,entry)
#define IOpenBitsTestControl_ClearJournal(This) (This)->lpVtbl->ClearJournal(This)
#define IOpenBitsTestControl_LoadScenario(This,path) (This)->lpVtbl->LoadScenario(This,path)
#define IOpenBitsTestControl_Reset(This) (This)->lpVtbl->Reset(This)

#endif

#ifdef __cplusplus
}
#endif

#endif
