# SPDX-License-Identifier: MIT
# Tests of openbits.dll, cross-built and run under Wine in the build's private prefix.

set(CMOCKA_ROOT ${CMAKE_BINARY_DIR}/_deps/cmocka-mingw CACHE PATH "cmocka cross-built for MinGW-w64")
if(NOT EXISTS ${CMOCKA_ROOT}/lib/libcmocka-static.a)
    message(FATAL_ERROR "cmocka for MinGW-w64 is missing at ${CMOCKA_ROOT}: run scripts/setup.sh")
endif()
add_library(cmocka_mingw STATIC IMPORTED)
set_target_properties(cmocka_mingw PROPERTIES
    IMPORTED_LOCATION ${CMOCKA_ROOT}/lib/libcmocka-static.a
    INTERFACE_INCLUDE_DIRECTORIES ${CMOCKA_ROOT}/include)

# The loopback HTTP server (tests/servers/http_server.py) runs as a Linux process that the
# tests start through Wine (tests/support/server.c): they need its Linux path and Python's.
find_program(OPENBITS_PYTHON3 python3 HINTS /usr/bin REQUIRED)

add_library(test_support STATIC ${CMAKE_SOURCE_DIR}/tests/support/com_test.c
    ${CMAKE_SOURCE_DIR}/tests/support/server.c ${CMAKE_SOURCE_DIR}/tests/support/callback.c)
target_include_directories(test_support PUBLIC ${CMAKE_SOURCE_DIR}/tests/support ${GENERATED_DIR}
    ${CMAKE_SOURCE_DIR}/include)
target_compile_definitions(test_support PUBLIC ${OPENBITS_DEFINITIONS})
target_compile_definitions(test_support PRIVATE OPENBITS_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    OPENBITS_PYTHON3="${OPENBITS_PYTHON3}")
target_compile_options(test_support PRIVATE ${OPENBITS_WARNINGS})
target_link_libraries(test_support PUBLIC cmocka_mingw openbits_guids ole32 oleaut32 uuid advapi32
    ws2_32)
add_dependencies(test_support openbits_idl)

set(WINE_TEST_ENV "WINEPREFIX=${WINE_PREFIX}" "WINEDEBUG=-all")

# Stops the prefix's wineserver once every test has run.
add_test(NAME wine.stop COMMAND sh -c "WINEPREFIX='${WINE_PREFIX}' wineserver -k 2>/dev/null; exit 0")
set_tests_properties(wine.stop PROPERTIES FIXTURES_CLEANUP wine)

function(openbits_wine_test name)
    cmake_parse_arguments(T "" "" "SOURCES;LIBS;LOCK" ${ARGN})
    add_executable(${name} ${T_SOURCES})
    target_compile_options(${name} PRIVATE ${OPENBITS_WARNINGS})
    target_link_libraries(${name} PRIVATE test_support ${T_LIBS})
    target_link_options(${name} PRIVATE -static-libgcc)
    add_dependencies(${name} openbits wineprefix)
    add_test(NAME wine.${name} COMMAND ${name})
    set_tests_properties(wine.${name} PROPERTIES
        ENVIRONMENT "${WINE_TEST_ENV}" FIXTURES_REQUIRED wine TIMEOUT 300)
    if(T_LOCK)
        set_tests_properties(wine.${name} PROPERTIES RESOURCE_LOCK "${T_LOCK}")
    endif()
endfunction()

# Core tests (tests/core/test_*.c), also run natively (tests-native.cmake).
file(GLOB CORE_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/core/test_*.c)
foreach(source IN LISTS CORE_TESTS)
    get_filename_component(name ${source} NAME_WE)
    # A test's fakes, when it has some: tests/core/fake_<name>.c (test_engine.c: fake_engine.c).
    # (test_engine_upload.c shares them: the fakes are named after the first word.)
    string(REGEX REPLACE "^test_([^_]*).*" "fake_\\1" fakes ${name})
    set(fakes ${CMAKE_SOURCE_DIR}/tests/core/${fakes}.c)
    if(NOT EXISTS ${fakes})
        set(fakes "")
    endif()
    openbits_wine_test(${name} SOURCES ${source} ${fakes} LIBS openbits_core)
endforeach()

# COM objects through the DLL's own entry points, no registration (tests/com/test_*.c: one
# file per interface).
file(GLOB COM_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/com/test_*.c)
foreach(source IN LISTS COM_TESTS)
    get_filename_component(name ${source} NAME_WE)
    openbits_wine_test(${name} SOURCES ${source})
endforeach()

# test_server: the loopback HTTP server through WinHTTP, as the transfer engine will use it.
target_link_libraries(test_server PRIVATE winhttp)

# IEnumBackgroundCopyFiles before the object model has files: the enumerator's sources built
# into the test with a stub of the module count, fed fake files (unit_*.c: not in the glob above).
openbits_wine_test(unit_enum_files SOURCES
    ${CMAKE_SOURCE_DIR}/tests/com/unit_enum_files.c
    ${CMAKE_SOURCE_DIR}/tests/support/module_stub.c
    ${CMAKE_SOURCE_DIR}/src/enum_files.c
    ${CMAKE_SOURCE_DIR}/src/enum_snapshot.c
    ${CMAKE_SOURCE_DIR}/src/common.c
    ${CMAKE_SOURCE_DIR}/src/debug.c)
target_include_directories(unit_enum_files PRIVATE ${CMAKE_SOURCE_DIR}/src)

# IBackgroundCopyError has no way in through the DLL's five exports until jobs fail, so
# test_copy_error compiles src/copy_error.c (with the helpers it uses) into the test program
# and calls copy_error_create directly. tests/support/module_stub.c stands in for src/module.c:
# module_instance is the test program, which links the same generated message table as the
# DLL, and module_lock_count() is the live-object count.
target_sources(test_copy_error PRIVATE
    ${CMAKE_SOURCE_DIR}/src/copy_error.c
    ${CMAKE_SOURCE_DIR}/src/common.c
    ${CMAKE_SOURCE_DIR}/src/debug.c
    ${CMAKE_SOURCE_DIR}/tests/support/module_stub.c
    ${MESSAGES_RC})
target_include_directories(test_copy_error PRIVATE ${CMAKE_SOURCE_DIR}/src)
set_source_files_properties(${MESSAGES_RC} PROPERTIES OBJECT_DEPENDS ${GENERATED_DIR}/messages_MSG00409.bin)
add_dependencies(test_copy_error openbits_messages)

# ABI: our generated headers against MinGW-w64's system headers.
set(ABI_LIST ${CMAKE_BINARY_DIR}/abi/abi_list.h)
set(ABI_SYSTEM_HEADERS bits.h bits1_5.h bits2_0.h bits2_5.h bits3_0.h bits5_0.h qmgr.h)
add_custom_command(
    OUTPUT ${ABI_LIST} ${CMAKE_BINARY_DIR}/abi/abi_sys_names.h
    COMMAND ${CMAKE_COMMAND} -DINCLUDE_DIR=/usr/share/mingw-w64/include
            "-DHEADERS=${ABI_SYSTEM_HEADERS}" -DOUTPUT_DIR=${CMAKE_BINARY_DIR}/abi
            -P ${CMAKE_SOURCE_DIR}/tests/abi/abi_list.cmake
    DEPENDS ${CMAKE_SOURCE_DIR}/tests/abi/abi_list.cmake
    COMMENT "Listing the vtables of MinGW-w64's BITS headers"
    VERBATIM)
add_custom_target(abi_list DEPENDS ${ABI_LIST})
# abi_system.c sees the system headers only, never ours: it is an object library of its own.
add_library(abi_system OBJECT ${CMAKE_SOURCE_DIR}/tests/abi/abi_system.c)
target_include_directories(abi_system PRIVATE ${CMAKE_BINARY_DIR}/abi ${CMAKE_SOURCE_DIR}/tests/abi)
target_compile_definitions(abi_system PRIVATE COBJMACROS CONST_VTABLE _WIN32_WINNT=0x0600)
target_compile_options(abi_system PRIVATE ${OPENBITS_WARNINGS})
add_dependencies(abi_system abi_list)
openbits_wine_test(test_abi SOURCES
    ${CMAKE_SOURCE_DIR}/tests/abi/test_abi.c
    ${CMAKE_SOURCE_DIR}/tests/abi/abi_ours.c
    $<TARGET_OBJECTS:abi_system>)
target_include_directories(test_abi PRIVATE ${CMAKE_BINARY_DIR}/abi ${CMAKE_SOURCE_DIR}/tests/abi)
add_dependencies(test_abi abi_list)

# Registration with Wine's regsvr32 in the prefix, and clients in separate processes.
add_executable(registration_probe ${CMAKE_SOURCE_DIR}/tests/registration/probe.c)
target_compile_options(registration_probe PRIVATE ${OPENBITS_WARNINGS})
target_link_libraries(registration_probe PRIVATE test_support)
target_link_options(registration_probe PRIVATE -static-libgcc -municode)
openbits_wine_test(test_registration SOURCES ${CMAKE_SOURCE_DIR}/tests/registration/test_registration.c
    LOCK wine_registry)
add_dependencies(test_registration registration_probe)

# The job's file work that only the transfer engine reaches through the exports (errors,
# renames on Complete, reply data, on-demand ranges): unit_job_internals compiles the objects
# of src/ (not the module's entry points) into the test, which then plays the engine's part on
# the job and file records directly.
set(OBJECT_SOURCES ${OPENBITS_SOURCES})
list(FILTER OBJECT_SOURCES EXCLUDE REGEX "/(module|register|class_factory|engine_host|transport_http|transport_upload|transport_file|proxy|surrogate)\\.c$")
openbits_wine_test(unit_job_internals SOURCES
    ${CMAKE_SOURCE_DIR}/tests/com/unit_job_internals.c
    ${CMAKE_SOURCE_DIR}/tests/support/module_stub.c
    ${CMAKE_SOURCE_DIR}/tests/support/engine_stub.c
    ${OBJECT_SOURCES}
    ${MESSAGES_RC}
    LIBS openbits_core crypt32 winhttp shlwapi)
target_include_directories(unit_job_internals PRIVATE ${CMAKE_SOURCE_DIR}/src)
add_dependencies(unit_job_internals openbits_messages)

# test_quota writes Group Policy values under HKLM in the prefix: not while the registration
# test compares registry snapshots.
set_tests_properties(wine.test_quota PROPERTIES RESOURCE_LOCK wine_registry)
# test_test_control and test_test_control_upload switch the test double on and off under HKLM in
# the prefix.
set_tests_properties(wine.test_test_control wine.test_test_control_upload PROPERTIES RESOURCE_LOCK wine_registry)

# The transports (src/transport_http.c, src/transport_file.c) on real files, against the loopback
# HTTP server (tests/servers/http_server.py) and sockets of the test's own: the sources are
# compiled into the test with the stub of the module count, as for test_copy_error.
openbits_wine_test(unit_transport SOURCES
    ${CMAKE_SOURCE_DIR}/tests/com/unit_transport.c
    ${CMAKE_SOURCE_DIR}/tests/support/module_stub.c
    ${CMAKE_SOURCE_DIR}/src/transport_http.c
    ${CMAKE_SOURCE_DIR}/src/transport_upload.c
    ${CMAKE_SOURCE_DIR}/src/certificate.c
    ${CMAKE_SOURCE_DIR}/src/transport_file.c
    ${CMAKE_SOURCE_DIR}/src/transfer_options.c
    ${CMAKE_SOURCE_DIR}/src/core/transport.c
    ${CMAKE_SOURCE_DIR}/src/common.c
    ${CMAKE_SOURCE_DIR}/src/debug.c
    LIBS winhttp crypt32 shlwapi)
target_include_directories(unit_transport PRIVATE ${CMAKE_SOURCE_DIR}/src)

# A self-signed certificate for unit_transport's HTTPS server (localhost, for server and client
# authentication), with its key as PEM for the server and both as PKCS #12 for the client's
# certificate store, made at build time with openssl; without openssl the HTTPS tests skip. The
# key is one Wine can sign with (tests/support/make_tls_key.sh).
find_program(OPENSSL_PROGRAM openssl)
if(OPENSSL_PROGRAM)
    set(TLS_DIR ${CMAKE_BINARY_DIR}/tls)
    add_custom_command(
        OUTPUT ${TLS_DIR}/cert.pem ${TLS_DIR}/key.pem ${TLS_DIR}/cert.pfx
        COMMAND ${CMAKE_COMMAND} -E make_directory ${TLS_DIR}
        COMMAND sh ${CMAKE_SOURCE_DIR}/tests/support/make_tls_key.sh ${OPENSSL_PROGRAM} ${TLS_DIR}/key.pem
        COMMAND ${OPENSSL_PROGRAM} req -x509 -key ${TLS_DIR}/key.pem -days 3650 -subj /CN=localhost
                -addext subjectAltName=DNS:localhost -addext extendedKeyUsage=serverAuth,clientAuth
                -out ${TLS_DIR}/cert.pem
        COMMAND ${OPENSSL_PROGRAM} pkcs12 -export -in ${TLS_DIR}/cert.pem -inkey ${TLS_DIR}/key.pem
                -passout pass: -out ${TLS_DIR}/cert.pfx
        COMMENT "A self-signed certificate for the HTTPS tests"
        DEPENDS ${CMAKE_SOURCE_DIR}/tests/support/make_tls_key.sh
        VERBATIM)
    add_custom_target(tls_certificate DEPENDS ${TLS_DIR}/cert.pem ${TLS_DIR}/key.pem ${TLS_DIR}/cert.pfx)
    add_dependencies(unit_transport tls_certificate)
    target_compile_definitions(unit_transport PRIVATE OPENBITS_TLS_CERT="${TLS_DIR}/cert.pem"
        OPENBITS_TLS_KEY="${TLS_DIR}/key.pem" OPENBITS_TLS_PFX="${TLS_DIR}/cert.pfx")
endif()

# include/openbits.h (published) against the header widl generates from idl/openbits_control.idl.
openbits_wine_test(test_openbits_h SOURCES
    ${CMAKE_SOURCE_DIR}/tests/abi/test_openbits_h.c
    ${CMAKE_SOURCE_DIR}/tests/abi/openbits_h_generated.c
    ${CMAKE_SOURCE_DIR}/tests/abi/openbits_h_published.c)
target_include_directories(test_openbits_h PRIVATE ${CMAKE_SOURCE_DIR}/tests/abi)

# Out-of-process use (tests/oop/): test_oop registers openbits machine-wide and starts DLL
# surrogates, in a Wine prefix of its own (build/oop-prefix) whose wineserver the oop fixture
# stops afterwards. oop_client.exe is the BITS client it runs in other processes.
set(OOP_PREFIX ${CMAKE_BINARY_DIR}/oop-prefix)
add_custom_command(
    OUTPUT ${OOP_PREFIX}/.created
    COMMAND ${CMAKE_COMMAND} -E env WINEPREFIX=${OOP_PREFIX} WINEDEBUG=-all
            WINEDLLOVERRIDES=mscoree,mshtml= wineboot -i
    COMMAND ${CMAKE_COMMAND} -E env WINEPREFIX=${OOP_PREFIX} wineserver -w
    COMMAND ${CMAKE_COMMAND} -E touch ${OOP_PREFIX}/.created
    COMMENT "Creating the out-of-process tests' Wine prefix"
    VERBATIM)
add_custom_target(oop_prefix ALL DEPENDS ${OOP_PREFIX}/.created)

add_executable(oop_client ${CMAKE_SOURCE_DIR}/tests/oop/oop_client.c)
target_include_directories(oop_client PRIVATE ${GENERATED_DIR})
target_compile_definitions(oop_client PRIVATE ${OPENBITS_DEFINITIONS})
target_compile_options(oop_client PRIVATE ${OPENBITS_WARNINGS} -municode)
target_link_libraries(oop_client PRIVATE openbits_guids ole32 oleaut32 uuid advapi32)
target_link_options(oop_client PRIVATE -static-libgcc -municode)
add_dependencies(oop_client openbits_idl)

# Wine gives every process it starts the Unix stderr of its parent (for its debug output), and
# the surrogate would keep CTest's output pipe open: test_oop's stderr goes to a file, printed
# once it has exited.
add_executable(test_oop ${CMAKE_SOURCE_DIR}/tests/oop/test_oop.c)
target_compile_options(test_oop PRIVATE ${OPENBITS_WARNINGS})
target_link_libraries(test_oop PRIVATE test_support crypt32)
target_link_options(test_oop PRIVATE -static-libgcc)
add_dependencies(test_oop openbits oop_client oop_prefix)
if(OPENSSL_PROGRAM)
    add_dependencies(test_oop tls_certificate)
    target_compile_definitions(test_oop PRIVATE OPENBITS_TLS_CERT="${TLS_DIR}/cert.pem"
        OPENBITS_TLS_KEY="${TLS_DIR}/key.pem")
endif()
add_test(NAME wine.test_oop
    COMMAND sh -c "wine \"$1\" 2>\"$2\"; status=$?; cat \"$2\" >&2; exit $status"
            test_oop $<TARGET_FILE:test_oop> ${CMAKE_BINARY_DIR}/test_oop.stderr)
set_tests_properties(wine.test_oop PROPERTIES
    ENVIRONMENT "WINEPREFIX=${OOP_PREFIX};WINEDEBUG=-all" FIXTURES_REQUIRED oop TIMEOUT 600)
add_test(NAME wine.oop.stop COMMAND sh -c "WINEPREFIX='${OOP_PREFIX}' wineserver -k 2>/dev/null; exit 0")
set_tests_properties(wine.oop.stop PROPERTIES FIXTURES_CLEANUP oop)
