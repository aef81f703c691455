/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "objects.h"
#include "proxy.h"
#include "register.h"
#include "surrogate.h"

#define KEY_PATH_MAX 256

/* What a registration writes, as a list of keys and values (paths relative to the classes
 * root), parents before children and keys before their values: registering walks it forwards,
 * unregistering backwards. */
enum reg_item_kind { ITEM_KEY, ITEM_VALUE };

struct reg_item
{
    enum reg_item_kind kind;
    WCHAR key[KEY_PATH_MAX];
    const WCHAR *name;             /* ITEM_VALUE: NULL for the key's default value */
    WCHAR *data;                   /* ITEM_VALUE */
    const IID *proxied;          /* an interface's items: written only when it has no proxy yet */
};

struct reg_list
{
    struct reg_item *items;
    size_t count, capacity;
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

/* --- what we register ------------------------------------------------------------------------ */

static void list_free(struct reg_list *list)
{
    size_t i;

    for (i = 0; i < list->count; ++i) free(list->items[i].data);
    free(list->items);
}

static HRESULT list_add(struct reg_list *list, enum reg_item_kind kind, const IID *proxied,
                        const WCHAR *name, const WCHAR *data, const WCHAR *key_format, ...)
{
    struct reg_item *item;
    va_list args;

    if (list->count == list->capacity)
    {
        size_t capacity = list->capacity ? list->capacity * 2 : 64;
        struct reg_item *items = realloc(list->items, capacity * sizeof(*items));

        if (!items) return E_OUTOFMEMORY;
        list->items = items;
        list->capacity = capacity;
    }
    item = &list->items[list->count];
    memset(item, 0, sizeof(*item));
    item->kind = kind;
    item->proxied = proxied;
    item->name = name;
    va_start(args, key_format);
    vswprintf(item->key, ARRAY_SIZE(item->key), key_format, args);
    va_end(args);
    if (data && !(item->data = _wcsdup(data))) return E_OUTOFMEMORY;
    ++list->count;
    return S_OK;
}

#define ADD_KEY(list, ...)                         list_add(list, ITEM_KEY, NULL, NULL, NULL, __VA_ARGS__)
#define ADD_VALUE(list, name, data, ...)           list_add(list, ITEM_VALUE, NULL, name, data, __VA_ARGS__)
#define ADD_INTERFACE_KEY(list, iid, ...)          list_add(list, ITEM_KEY, iid, NULL, NULL, __VA_ARGS__)
#define ADD_INTERFACE_VALUE(list, iid, data, ...)  list_add(list, ITEM_VALUE, iid, NULL, data, __VA_ARGS__)

/* An in-process class: CLSID\{clsid} (name), InprocServer32 (this DLL, ThreadingModel=Both) and,
 * when `appid` is given, the AppID value that sends CLSCTX_LOCAL_SERVER to the surrogate. */
static HRESULT add_class(struct reg_list *list, const struct reg_context *ctx, const CLSID *clsid,
                         const WCHAR *name, const WCHAR *appid)
{
    WCHAR id[39];
    HRESULT hr;

    StringFromGUID2(clsid, id, ARRAY_SIZE(id));
    if (FAILED(hr = ADD_KEY(list, L"CLSID\\%ls", id))
            || FAILED(hr = ADD_KEY(list, L"CLSID\\%ls\\InprocServer32", id))
            || FAILED(hr = ADD_VALUE(list, NULL, name, L"CLSID\\%ls", id))
            || FAILED(hr = ADD_VALUE(list, NULL, ctx->module_path, L"CLSID\\%ls\\InprocServer32", id))
            || FAILED(hr = ADD_VALUE(list, L"ThreadingModel", L"Both", L"CLSID\\%ls\\InprocServer32", id)))
        return hr;
    if (appid) hr = ADD_VALUE(list, L"AppID", appid, L"CLSID\\%ls", id);
    return hr;
}

static BOOL under_wine(void)
{
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");

    return ntdll && GetProcAddress(ntdll, "wine_get_version");
}

/* Wine 8 looks for C:\windows\syswow64\dllhost.exe when DllSurrogate is empty, which a 64-bit
 * prefix lacks (BITS-SPEC.md §11.3): under Wine the value names the system's dllhost.exe; on
 * Windows it stays empty (the system's surrogate, as documented). */
static void surrogate_path(WCHAR *path, size_t size)
{
    UINT len;

    path[0] = 0;
    if (!under_wine()) return;
    len = GetSystemDirectoryW(path, (UINT)size);
    if (!len || len + ARRAY_SIZE(L"\\dllhost.exe") > size)
        path[0] = 0;
    else
        wcscat(path, L"\\dllhost.exe");
}

static HRESULT build_list(struct reg_list *list, const struct reg_context *ctx)
{
    const struct proxy_interface *interfaces;
    WCHAR appid[39], ps_clsid[39], iid[39], name[128], surrogate[MAX_PATH];
    size_t i, count;
    HRESULT hr;

    StringFromGUID2(&APPID_openbits, appid, ARRAY_SIZE(appid));
    StringFromGUID2(&CLSID_openbits_ProxyStub, ps_clsid, ARRAY_SIZE(ps_clsid));
    surrogate_path(surrogate, ARRAY_SIZE(surrogate));

    for (i = 0; i < class_table_size; ++i)
        if (FAILED(hr = add_class(list, ctx, class_table[i].clsid, class_table[i].name, appid))) return hr;

    if (FAILED(hr = ADD_KEY(list, L"AppID\\%ls", appid))
            || FAILED(hr = ADD_VALUE(list, NULL, L"openbits", L"AppID\\%ls", appid))
            || FAILED(hr = ADD_VALUE(list, L"DllSurrogate", surrogate, L"AppID\\%ls", appid)))
        return hr;

    if (FAILED(hr = add_class(list, ctx, &CLSID_openbits_ProxyStub, L"openbits proxy/stub factory", NULL)))
        return hr;
    interfaces = proxy_interfaces(&count);
    for (i = 0; i < count; ++i)
    {
        const IID *proxied = interfaces[i].iid;

        StringFromGUID2(proxied, iid, ARRAY_SIZE(iid));
        swprintf(name, ARRAY_SIZE(name), L"%hs", interfaces[i].name);
        if (FAILED(hr = ADD_INTERFACE_KEY(list, proxied, L"Interface\\%ls", iid))
                || FAILED(hr = ADD_INTERFACE_KEY(list, proxied, L"Interface\\%ls\\ProxyStubClsid32", iid))
                || FAILED(hr = ADD_INTERFACE_VALUE(list, proxied, name, L"Interface\\%ls", iid))
                || FAILED(hr = ADD_INTERFACE_VALUE(list, proxied, ps_clsid,
                                                   L"Interface\\%ls\\ProxyStubClsid32", iid)))
            return hr;
    }
    return S_OK;
}

/* An interface that has a proxy registered by someone else (Windows' own proxies, whose keys are
 * protected) is left alone: our items for it are skipped. One we registered before has a record
 * in the backup. Under Wine, ours replace those of Wine's qmgrprxy.dll (the record puts them back
 * on unregistration): widl builds them with [ref] applied to both levels of `[out, ref] LPWSTR *`,
 * so IBackgroundCopyError's strings never cross, and the enumerators' Next loses pceltFetched
 * when fewer items than asked are returned (docs/conformance.md). */
static BOOL interface_is_foreign(const struct reg_context *ctx, const IID *proxied)
{
    WCHAR iid[39], subkey[KEY_PATH_MAX], path[KEY_PATH_MAX];
    HKEY key;
    BOOL found = FALSE;

    if (under_wine()) return FALSE;
    StringFromGUID2(proxied, iid, ARRAY_SIZE(iid));
    swprintf(subkey, ARRAY_SIZE(subkey), L"Interface\\%ls", iid);
    if (SUCCEEDED(open_backup(ctx, subkey, FALSE, &key)))
    {
        found = backup_has(key, L"key");
        RegCloseKey(key);
        if (found) return FALSE;
    }
    classes_path(ctx, subkey, path, ARRAY_SIZE(path));
    wcscat(path, L"\\ProxyStubClsid32");
    if (!RegOpenKeyExW(ctx->hive, path, 0, KEY_READ, &key)
            || (ctx->hive != HKEY_LOCAL_MACHINE && !RegOpenKeyExW(HKEY_LOCAL_MACHINE, path, 0, KEY_READ, &key)))
    {
        RegCloseKey(key);
        return TRUE;
    }
    return FALSE;
}

HRESULT register_classes(enum register_scope scope)
{
    struct reg_list list = {0};
    struct reg_context ctx;
    const IID *decided = NULL;
    BOOL foreign = FALSE;
    size_t i;
    HRESULT hr;

    if (FAILED(hr = init_context(&ctx, scope))) return hr;
    if (FAILED(hr = build_list(&list, &ctx))) goto out;
    for (i = 0; i < list.count; ++i)
    {
        const struct reg_item *item = &list.items[i];

        if (item->proxied && item->proxied != decided)
        {
            decided = item->proxied;
            foreign = interface_is_foreign(&ctx, item->proxied);
        }
        if (item->proxied && foreign) continue;
        if (item->kind == ITEM_KEY)
            hr = remember_key(&ctx, item->key);
        else
            hr = write_value(&ctx, item->key, item->name, item->data);
        if (FAILED(hr))
        {
            ERR("registration failed at %s, %#lx; undoing it.\n", debugstr_w(item->key), hr);
            list_free(&list);
            unregister_classes(scope);
            return hr;
        }
    }
out:
    list_free(&list);
    return hr;
}

HRESULT unregister_classes(enum register_scope scope)
{
    struct reg_list list = {0};
    struct reg_context ctx;
    HRESULT hr, result = S_OK;
    size_t i;

    if (FAILED(hr = init_context(&ctx, scope))) return hr;
    if (FAILED(hr = build_list(&list, &ctx)))
    {
        list_free(&list);
        return hr;
    }
    /* Backwards: values before their keys, children before their parents. Only what the
     * backup records as ours is touched. */
    for (i = list.count; i-- > 0;)
    {
        const struct reg_item *item = &list.items[i];

        if (item->kind == ITEM_KEY)
            hr = restore_key(&ctx, item->key);
        else
            hr = restore_value(&ctx, item->key, item->name);
        if (FAILED(hr) && SUCCEEDED(result)) result = hr;
    }
    list_free(&list);
    /* The record is spent once everything it describes is back. Keep it on failure so a
     * second unregistration can finish the job. */
    if (SUCCEEDED(result))
    {
        RegDeleteTreeW(ctx.hive, REGISTER_BACKUP_KEY);
        RegDeleteKeyW(ctx.hive, L"Software\\openbits");
    }
    return result;
}
