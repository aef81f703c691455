# SPDX-License-Identifier: MIT
# Fixes widl 8.0's interpreted (-Oicf) proxy/stub code, in place: cmake -DFILE=bits_p.c -P this
# (-DALLOW_NONE=1 for a file that may have no such parameter).
#
# For an [out] pointer to a string (`[out] LPWSTR *p`), widl 8.0 writes the right type format,
#     /* N (LPWSTR *) */  0x11, 0x14  FC_RP [allocated_on_stack] [pointer_deref]  Offset= 2 (M)
#     /* M (LPWSTR) */    0x13, 0x8   FC_OP [simple_pointer]  FC_C_WSTRING
# but describes the parameter with type offset M (the string) instead of N (the pointer to it):
# write_type_tfs() returns the string's offset for a pointer to a string (tools/widl/typegen.c).
# The generated inline (-Os) code copes; rpcrt4's interpreter then unmarshals the string into the
# caller's stack slot instead of through it, and the caller gets NULL. Such parameters are the
# only ones with a "srv size" (the server allocates the pointer) and a type offset M of this
# shape; they are pointed at N.

file(READ "${FILE}" text)

string(REGEX MATCHALL
    "/\\* +[0-9]+ \\([^)\n]*\\) \\*/\n[ \t]*0x11, 0x14,[^\n]*\n[ \t]*NdrFcShort\\(0x2\\),[^\n]*\\([0-9]+\\) \\*/\n/\\* +[0-9]+ \\([^)\n]*\\) \\*/\n[ \t]*0x1[23], 0x8,[^\n]*\n/\\* +[0-9]+ \\*/\n[ \t]*0x2[25],"
    pointers "${text}")

set(fixed 0)
foreach(pointer IN LISTS pointers)
    string(REGEX MATCH "^/\\* +([0-9]+) " unused "${pointer}")
    set(outer ${CMAKE_MATCH_1})
    string(REGEX MATCH "Offset= 2 \\(([0-9]+)\\)" unused "${pointer}")
    set(inner ${CMAKE_MATCH_1})
    math(EXPR outer_hex "${outer}" OUTPUT_FORMAT HEXADECIMAL)
    math(EXPR inner_hex "${inner}" OUTPUT_FORMAT HEXADECIMAL)
    string(REGEX REPLACE
        "(/\\* flags: [^*\n]*out, srv size=[0-9]+ \\*/\n[ \t]*NdrFcShort\\(0x[0-9a-f]+\\),[ \t]*/\\* stack offset = [0-9]+ \\*/\n[ \t]*)NdrFcShort\\(${inner_hex}\\),([ \t]*)/\\* type offset = ${inner} \\*/"
        "\\1NdrFcShort(${outer_hex}),\\2/* type offset = ${outer} (fixed: fix_widl_proxy.cmake) */"
        new_text "${text}")
    if(NOT new_text STREQUAL text)
        math(EXPR fixed "${fixed} + 1")
        set(text "${new_text}")
    endif()
endforeach()

if(fixed EQUAL 0 AND NOT ALLOW_NONE)
    message(FATAL_ERROR "fix_widl_proxy.cmake: no [out] string pointer parameter found in ${FILE}; "
                        "has widl's output changed?")
endif()
file(WRITE "${FILE}" "${text}")
