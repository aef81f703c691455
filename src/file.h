/* SPDX-License-Identifier: MIT */
/* A job's file record and its COM face, IBackgroundCopyFile .. IBackgroundCopyFile6 (file.c).
 *
 * The job owns its file records: they are created by AddFile*, kept in job->files in the order
 * added and freed with the job. A file's COM references hold the job (job_hold while the file's
 * refcount > 0), so a client holding only a file keeps the whole job alive, and the job's memory
 * outlives every file pointer handed out. The transfer engine works on the same records. */
#ifndef OPENBITS_FILE_H
#define OPENBITS_FILE_H

#include "common.h"
#include "core/engine.h"

struct job;

struct job_file
{
    IBackgroundCopyFile6 IBackgroundCopyFile6_iface;
    IUnknown *marshal;                    /* aggregated free-threaded marshaler, made by qi_lookup */
    LONG refcount;                        /* COM references; while > 0 the file holds its job */
    struct job *job;                      /* the owner; set once the file is in the job */
    struct engine_file xfer;              /* names, progress, ranges: [service lock], except
                                           * local_name and ranges, which never change */
    struct range_list reported;           /* filled ranges told by FileRangesTransferred [service lock] */
};

static inline struct job_file *file_from_engine(struct engine_file *file)
{
    return CONTAINING_RECORD(file, struct job_file, xfer);
}

static inline struct job_file *impl_from_IBackgroundCopyFile6(IBackgroundCopyFile6 *iface)
{
    return CONTAINING_RECORD(iface, struct job_file, IBackgroundCopyFile6_iface);
}

/* A new record not yet in any job (refcount 0). Takes ownership of nothing: the strings and
 * ranges are copied. With use_temp, temp_name is a fresh `BIT#####.tmp` name beside the local
 * file; without (uploads), NULL. */
HRESULT file_create(const WCHAR *remote, enum remote_kind kind, const WCHAR *local, BOOL use_temp,
                    const BG_FILE_RANGE *ranges, DWORD range_count, struct job_file **out);
/* A fresh `BIT#####.tmp` name in the directory of a local name (malloc'd). */
HRESULT file_make_temp_name(const WCHAR *local, WCHAR **out);
/* Frees a record (never one a client still references: the job is being destroyed, or the
 * record never joined a job). */
void file_destroy(struct job_file *file);

static inline IBackgroundCopyFile *file_iface(struct job_file *file)
{
    return (IBackgroundCopyFile *)&file->IBackgroundCopyFile6_iface;
}

#endif
