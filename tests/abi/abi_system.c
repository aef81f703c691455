/* SPDX-License-Identifier: MIT */
/* The system side of the ABI test: MinGW-w64's BITS headers only. Their GUID symbols are
 * renamed (abi_sys_names.h) so they link beside ours. */
#include <windows.h>
#include <objbase.h>
#include "abi_sys_names.h"
#include <initguid.h>
#include <bits.h>
#include <bits1_5.h>
#include <bits2_0.h>
#include <bits2_5.h>
#include <bits3_0.h>
#include <bits5_0.h>
#include <qmgr.h>

#include "abi.h"

/* qmgr.h declares its IIDs without values: the test compares ours with the spec instead. */
#define SYSTEM_IID_OF(i) &IID_##i
#define SPEC_IID_OF(i) NULL
#define ABI_TABLE_NAME abi_system_table
#include "abi_expand.h"
