/* SPDX-License-Identifier: MIT */
/* Our side of the ABI test: the header widl generated from idl/bits.idl. */
#include <windows.h>
#include <objbase.h>
#include "bits.h"

#include "abi.h"

#define SYSTEM_IID_OF(i) &IID_##i
#define SPEC_IID_OF(i) &IID_##i
#define ABI_TABLE_NAME abi_ours_table
#include "abi_expand.h"
