/* SPDX-License-Identifier: MIT */
/* Expands abi_list.h into the four lists ABI_TABLES needs. Included by abi_system.c and
 * abi_ours.c after they define SYSTEM_IID_OF(i) and SPEC_IID_OF(i). No include guard. */
#define ABI_INTERFACE(i)
#define ABI_END(i)
#define ABI_CLSID(n)
#define ABI_SYSTEM_IID(i)
#define ABI_SPEC_IID(i)

#undef ABI_METHOD
#define ABI_METHOD(i, m) { #i, #m, offsetof(i##Vtbl, m) },
static const struct abi_slot abi_slots[] = {
#include "abi_list.h"
};
#undef ABI_METHOD
#define ABI_METHOD(i, m)

#undef ABI_END
#define ABI_END(i) { #i, sizeof(i##Vtbl) },
static const struct abi_vtbl abi_vtbls[] = {
#include "abi_list.h"
};
#undef ABI_END
#define ABI_END(i)

#undef ABI_SYSTEM_IID
#undef ABI_SPEC_IID
#define ABI_SYSTEM_IID(i) { #i, SYSTEM_IID_OF(i) },
#define ABI_SPEC_IID(i) { #i, SPEC_IID_OF(i) },
static const struct abi_guid abi_iids[] = {
#include "abi_list.h"
};
#undef ABI_SYSTEM_IID
#undef ABI_SPEC_IID
#define ABI_SYSTEM_IID(i)
#define ABI_SPEC_IID(i)

#undef ABI_CLSID
#define ABI_CLSID(n) { #n, &CLSID_##n },
static const struct abi_guid abi_clsids[] = {
#include "abi_list.h"
};

const struct abi_table ABI_TABLE_NAME =
{
    abi_slots, sizeof(abi_slots) / sizeof(abi_slots[0]),
    abi_vtbls, sizeof(abi_vtbls) / sizeof(abi_vtbls[0]),
    abi_iids, sizeof(abi_iids) / sizeof(abi_iids[0]),
    abi_clsids, sizeof(abi_clsids) / sizeof(abi_clsids[0]),
};
