/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "objects.h"
#include "register.h"

#define KEY_PATH_MAX 256

/* What we write, per class: a key path (relative to the classes root) and a value. */
enum reg_data { DATA_CLASS_NAME, DATA_MODULE_PATH, DATA_LITERAL };

struct reg_value
{
    const WCHAR *subkey;       /* format with one %ls for the CLSID string */
    const WCHAR *name;         /* NULL: the key's default value */
    enum reg_data kind;
    const WCHAR *literal;      /* the data when kind is DATA_LITERAL */
};

static const WCHAR *const class_keys[] =        /* outermost first */
{
    L"CLSID\\%ls",
    L"CLSID\\%ls\\InprocServer32",
};

static const struct reg_value class_values[] =
{
    { L"CLSID\\%ls",                 NULL,              DATA_CLASS_NAME,  NULL },
    { L"CLSID\\%ls\\InprocServer32", NULL,              DATA_MODULE_PATH, NULL },
    { L"CLSID\\%ls\\InprocServer32", L"ThreadingModel", DATA_LITERAL,     L"Both" },
};

struct reg_context
{
    HKEY hive;
    const WCHAR *classes;      /* "Software\\Classes" */
    WCHAR module_path[MAX_PATH];
};

/* Backup value names: "value:<name>" holds the replaced data with its type; "absent:<name>"
 * says there was no such value; "key" records whether the key existed (1) or was created
 * by us (0). "@" stands for the default value. */
static void backup_name(WCHAR *buffer, size_t size, const WCHAR *prefix, const WCHAR *name)
{
    swprintf(buffer, size, L"%ls:%ls", prefix, name ? name : L"@");
}

static HRESULT open_backup(const struct reg_context *ctx, const WCHAR *subkey, BOOL create, HKEY *key)
{
    WCHAR path[KEY_PATH_MAX + 64];
    LSTATUS status;

    swprintf(path, ARRAY_SIZE(path), L"%ls\\%ls", REGISTER_BACKUP_KEY, subkey);
    if (create)
        status = RegCreateKeyExW(ctx->hive, path, 0, NULL, 0, KEY_READ | KEY_WRITE, NULL, key, NULL);
    else
        status = RegOpenKeyExW(ctx->hive, path, 0, KEY_READ | KEY_WRITE, key);
    return HRESULT_FROM_WIN32(status);
}

static void classes_path(const struct reg_context *ctx, const WCHAR *subkey, WCHAR *path, size_t size)
{
    swprintf(path, size, L"%ls\\%ls", ctx->classes, subkey);
}

static BOOL backup_has(HKEY backup, const WCHAR *name)
{
    return !RegQueryValueExW(backup, name, NULL, NULL, NULL, NULL);
}

/* Records, once, whether the key existed before our first registration. */
static HRESULT remember_key(const struct reg_context *ctx, const WCHAR *subkey)
{
    WCHAR path[KEY_PATH_MAX];
    HKEY backup, key;
    DWORD existed;
    LSTATUS status;
    HRESULT hr;

    if (FAILED(hr = open_backup(ctx, subkey, TRUE, &backup))) return hr;
    if (!backup_has(backup, L"key"))
    {
        classes_path(ctx, subkey, path, ARRAY_SIZE(path));
        existed = !RegOpenKeyExW(ctx->hive, path, 0, KEY_READ, &key);
        if (existed) RegCloseKey(key);
        status = RegSetValueExW(backup, L"key", 0, REG_DWORD, (const BYTE *)&existed, sizeof(existed));
        hr = HRESULT_FROM_WIN32(status);
    }
    RegCloseKey(backup);
    return hr;
}

/* Records, once, the value we are about to replace, then writes ours. */
static HRESULT write_value(const struct reg_context *ctx, const WCHAR *subkey, const WCHAR *name,
                           const WCHAR *data)
{
    WCHAR path[KEY_PATH_MAX], saved[80], absent[80];
    DWORD type, size = 0, one = 1;
    BYTE *old = NULL;
    HKEY backup, key;
    LSTATUS status;
    HRESULT hr;

    if (FAILED(hr = open_backup(ctx, subkey, TRUE, &backup))) return hr;
    backup_name(saved, ARRAY_SIZE(saved), L"value", name);
    backup_name(absent, ARRAY_SIZE(absent), L"absent", name);
    classes_path(ctx, subkey, path, ARRAY_SIZE(path));

    if (!backup_has(backup, saved) && !backup_has(backup, absent))
    {
        status = RegGetValueW(ctx->hive, path, name, RRF_RT_ANY | RRF_NOEXPAND, &type, NULL, &size);
        if (status == ERROR_FILE_NOT_FOUND)
            status = RegSetValueExW(backup, absent, 0, REG_DWORD, (const BYTE *)&one, sizeof(one));
        else if (!status)
        {
            if (!(old = malloc(size ? size : 1))) status = ERROR_OUTOFMEMORY;
            else if (!(status = RegGetValueW(ctx->hive, path, name, RRF_RT_ANY | RRF_NOEXPAND,
                                             &type, old, &size)))
                status = RegSetValueExW(backup, saved, 0, type, old, size);
            free(old);
        }
        if (status)
        {
            RegCloseKey(backup);
            return HRESULT_FROM_WIN32(status);
        }
    }
    RegCloseKey(backup);

    if ((status = RegCreateKeyExW(ctx->hive, path, 0, NULL, 0, KEY_WRITE, NULL, &key, NULL)))
        return HRESULT_FROM_WIN32(status);
    status = RegSetValueExW(key, name, 0, REG_SZ, (const BYTE *)data,
                            (DWORD)((wcslen(data) + 1) * sizeof(WCHAR)));
    RegCloseKey(key);
    return HRESULT_FROM_WIN32(status);
}

/* Puts back the value recorded by write_value; nothing when we never wrote it. */
static HRESULT restore_value(const struct reg_context *ctx, const WCHAR *subkey, const WCHAR *name)
{
    WCHAR path[KEY_PATH_MAX], saved[80], absent[80];
    DWORD type, size = 0;
    BYTE *old = NULL;
    HKEY backup, key;
    LSTATUS status = ERROR_SUCCESS;

    if (FAILED(open_backup(ctx, subkey, FALSE, &backup))) return S_OK;
    backup_name(saved, ARRAY_SIZE(saved), L"value", name);
    backup_name(absent, ARRAY_SIZE(absent), L"absent", name);
    classes_path(ctx, subkey, path, ARRAY_SIZE(path));

    if (backup_has(backup, absent))
    {
        if (!RegOpenKeyExW(ctx->hive, path, 0, KEY_WRITE, &key))
        {
            status = RegDeleteValueW(key, name);
            if (status == ERROR_FILE_NOT_FOUND) status = ERROR_SUCCESS;
            RegCloseKey(key);
        }
    }
    else if (!RegQueryValueExW(backup, saved, NULL, &type, NULL, &size))
    {
        if (!(old = malloc(size ? size : 1))) status = ERROR_OUTOFMEMORY;
        else if (!(status = RegQueryValueExW(backup, saved, NULL, &type, old, &size))
                 && !(status = RegCreateKeyExW(ctx->hive, path, 0, NULL, 0, KEY_WRITE, NULL, &key, NULL)))
        {
            status = RegSetValueExW(key, name, 0, type, old, size);
            RegCloseKey(key);
        }
        free(old);
    }
    RegCloseKey(backup);
    return HRESULT_FROM_WIN32(status);
}

/* Deletes the key if our registration created it (it must have no subkeys left). */
static HRESULT restore_key(const struct reg_context *ctx, const WCHAR *subkey)
{
    WCHAR path[KEY_PATH_MAX];
    DWORD existed = 1, size = sizeof(existed);
    HKEY backup;
    LSTATUS status = ERROR_SUCCESS;

    if (FAILED(open_backup(ctx, subkey, FALSE, &backup))) return S_OK;
    if (!RegQueryValueExW(backup, L"key", NULL, NULL, (BYTE *)&existed, &size) && !existed)
    {
        classes_path(ctx, subkey, path, ARRAY_SIZE(path));
        status = RegDeleteKeyW(ctx->hive, path);
        if (status == ERROR_FILE_NOT_FOUND) status = ERROR_SUCCESS;
    }
    RegCloseKey(backup);
    return HRESULT_FROM_WIN32(status);
}

static HRESULT init_context(struct reg_context *ctx, enum register_scope scope)
{
    DWORD len;

    ctx->hive = scope == REGISTER_USER ? HKEY_CURRENT_USER : HKEY_LOCAL_MACHINE;
    ctx->classes = L"Software\\Classes";
    len = GetModuleFileNameW(module_instance, ctx->module_path, ARRAY_SIZE(ctx->module_path));
    if (!len) return hresult_from_last_error();
    if (len >= ARRAY_SIZE(ctx->module_path)) return HRESULT_FROM_WIN32(ERROR_FILENAME_EXCED_RANGE);
    return S_OK;
}

static void class_subkey(const WCHAR *format, const CLSID *clsid, WCHAR *buffer, size_t size)
{
    WCHAR clsid_str[39];

    StringFromGUID2(clsid, clsid_str, ARRAY_SIZE(clsid_str));
    swprintf(buffer, size, format, clsid_str);
}

HRESULT register_classes(enum register_scope scope)
{
    struct reg_context ctx;
    WCHAR subkey[KEY_PATH_MAX];
    size_t i, j;
    HRESULT hr;

    if (FAILED(hr = init_context(&ctx, scope))) return hr;
    for (i = 0; i < class_table_size; ++i)
    {
        const struct class_info *info = &class_table[i];

        for (j = 0; j < ARRAY_SIZE(class_keys); ++j)
        {
            class_subkey(class_keys[j], info->clsid, subkey, ARRAY_SIZE(subkey));
            if (FAILED(hr = remember_key(&ctx, subkey))) goto fail;
        }
        for (j = 0; j < ARRAY_SIZE(class_values); ++j)
        {
            const struct reg_value *value = &class_values[j];
            const WCHAR *data = value->kind == DATA_CLASS_NAME ? info->name
                              : value->kind == DATA_MODULE_PATH ? ctx.module_path : value->literal;

            class_subkey(value->subkey, info->clsid, subkey, ARRAY_SIZE(subkey));
            if (FAILED(hr = write_value(&ctx, subkey, value->name, data))) goto fail;
        }
    }
    return S_OK;

fail:
    ERR("registration failed, %#lx; undoing it.\n", hr);
    unregister_classes(scope);
    return hr;
}

HRESULT unregister_classes(enum register_scope scope)
{
    struct reg_context ctx;
    WCHAR subkey[KEY_PATH_MAX];
    HRESULT hr, result = S_OK;
    size_t i, j;

    if (FAILED(hr = init_context(&ctx, scope))) return hr;
    for (i = 0; i < class_table_size; ++i)
    {
        const struct class_info *info = &class_table[i];

        for (j = ARRAY_SIZE(class_values); j-- > 0;)
        {
            class_subkey(class_values[j].subkey, info->clsid, subkey, ARRAY_SIZE(subkey));
            if (FAILED(hr = restore_value(&ctx, subkey, class_values[j].name)) && SUCCEEDED(result))
                result = hr;
        }
        for (j = ARRAY_SIZE(class_keys); j-- > 0;)
        {
            class_subkey(class_keys[j], info->clsid, subkey, ARRAY_SIZE(subkey));
            if (FAILED(hr = restore_key(&ctx, subkey)) && SUCCEEDED(result)) result = hr;
        }
    }
    /* The record is spent once everything it describes is back. Keep it on failure so a
     * second unregistration can finish the job. */
    if (SUCCEEDED(result))
    {
        RegDeleteTreeW(ctx.hive, REGISTER_BACKUP_KEY);
        RegDeleteKeyW(ctx.hive, L"Software\\openbits");
    }
    return result;
}
