/* SPDX-License-Identifier: MIT */
/* The widl side of test_openbits_h (build/generated/openbits_control.h). */
#include <windows.h>
#include "openbits_control.h"
#include "openbits_h.h"

OPENBITS_H_TABLE(openbits_h_generated)
