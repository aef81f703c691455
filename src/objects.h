/* SPDX-License-Identifier: MIT */
/* Constructors of the classes openbits.dll serves, as the class table calls them. */
#ifndef OPENBITS_OBJECTS_H
#define OPENBITS_OBJECTS_H

#include "common.h"

typedef HRESULT (*class_create_fn)(REFIID riid, void **out);

HRESULT manager_create(REFIID riid, void **out);
HRESULT qmgr_create(REFIID riid, void **out);

/* One row per CLSID openbits.dll serves: DllGetClassObject and registration walk it. */
struct class_info
{
    const CLSID *clsid;
    const WCHAR *name;
    class_create_fn create;
};

extern const struct class_info class_table[];
extern const size_t class_table_size;

HRESULT class_factory_create(const struct class_info *info, REFIID riid, void **out);

#endif
