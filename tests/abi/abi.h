/* SPDX-License-Identifier: MIT */
/* The ABI test compares two tables built from the same X-macro list (abi_list.h, generated
 * from MinGW-w64's headers): one compiled against the system headers (abi_system.c), one
 * against ours (abi_ours.c). */
#ifndef OPENBITS_ABI_H
#define OPENBITS_ABI_H

#include <stddef.h>

struct abi_slot { const char *iface, *method; size_t offset; };
struct abi_vtbl { const char *iface; size_t size; };
struct abi_guid { const char *name; const void *guid; };   /* guid: a GUID, or NULL if unknown */

struct abi_table
{
    const struct abi_slot *slots; size_t slot_count;
    const struct abi_vtbl *vtbls; size_t vtbl_count;
    const struct abi_guid *iids;  size_t iid_count;
    const struct abi_guid *clsids; size_t clsid_count;
};

extern const struct abi_table abi_system_table;
extern const struct abi_table abi_ours_table;

#endif
