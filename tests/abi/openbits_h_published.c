/* SPDX-License-Identifier: MIT */
/* The published side of test_openbits_h (include/openbits.h), with the IID value that header
 * defines (under a name of its own: the library defines the real one). */
#include <windows.h>
#include <objbase.h>
#include <bits.h>                     /* before initguid.h: only openbits.h's GUID is defined here */

#define IID_IOpenBitsTestControl IID_IOpenBitsTestControl_published
#include <initguid.h>
#include "openbits.h"
#include "openbits_h.h"

OPENBITS_H_TABLE(openbits_h_published)
