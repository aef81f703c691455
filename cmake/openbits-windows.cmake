# SPDX-License-Identifier: MIT
# The MinGW-w64 cross build: openbits.dll, its tests, and the Wine prefix they run in.

set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)   # the DLL and the test programs
set(CMAKE_LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib)
set(CMAKE_ARCHIVE_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib)

find_path(WINE_TLB_DIR stdole2.tlb
    PATHS /usr/lib/x86_64-linux-gnu/wine/x86_64-windows /usr/lib/wine/x86_64-windows
    NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH REQUIRED)

# --- widl: headers, GUID definitions, proxy/stub code and the type library ----------------
# -Oicf: interpreted (stubless) proxies and stubs, which need no exception-handling code of
# widl's own (its inline stubs use Wine's private wine/exception.h).
set(IDL_FILE ${CMAKE_SOURCE_DIR}/idl/bits.idl)
set(IDL_OUTPUTS
    ${GENERATED_DIR}/bits.h ${GENERATED_DIR}/bits_i.c ${GENERATED_DIR}/bits_p.c
    ${GENERATED_DIR}/bits.tlb)
add_custom_command(
    OUTPUT ${IDL_OUTPUTS}
    COMMAND ${WIDL} -m64 --win64 -I${WINE_INCLUDE_DIR} -L${WINE_TLB_DIR}
            -h -H bits.h -u -U bits_i.c -Oicf -p -P bits_p.c -t -T bits.tlb
            ${IDL_FILE}
    COMMAND ${CMAKE_COMMAND} -DFILE=${GENERATED_DIR}/bits_p.c -P ${CMAKE_SOURCE_DIR}/cmake/fix_widl_proxy.cmake
    DEPENDS ${IDL_FILE} ${CMAKE_SOURCE_DIR}/cmake/fix_widl_proxy.cmake
    WORKING_DIRECTORY ${GENERATED_DIR}
    COMMENT "widl idl/bits.idl"
    VERBATIM)
# Our own interface (the test double's control), which imports bits.idl.
set(CONTROL_IDL_FILE ${CMAKE_SOURCE_DIR}/idl/openbits_control.idl)
set(CONTROL_IDL_OUTPUTS
    ${GENERATED_DIR}/openbits_control.h ${GENERATED_DIR}/openbits_control_i.c ${GENERATED_DIR}/openbits_control_p.c)
add_custom_command(
    OUTPUT ${CONTROL_IDL_OUTPUTS}
    COMMAND ${WIDL} -m64 --win64 -I${WINE_INCLUDE_DIR} -I${CMAKE_SOURCE_DIR}/idl
            -h -H openbits_control.h -u -U openbits_control_i.c -Oicf -p -P openbits_control_p.c
            ${CONTROL_IDL_FILE}
    COMMAND ${CMAKE_COMMAND} -DFILE=${GENERATED_DIR}/openbits_control_p.c -DALLOW_NONE=1
            -P ${CMAKE_SOURCE_DIR}/cmake/fix_widl_proxy.cmake
    DEPENDS ${CONTROL_IDL_FILE} ${IDL_FILE} ${CMAKE_SOURCE_DIR}/cmake/fix_widl_proxy.cmake
    WORKING_DIRECTORY ${GENERATED_DIR}
    COMMENT "widl idl/openbits_control.idl"
    VERBATIM)
add_custom_target(openbits_idl DEPENDS ${IDL_OUTPUTS} ${CONTROL_IDL_OUTPUTS})

set(OPENBITS_DEFINITIONS COBJMACROS CONST_VTABLE WIN32_LEAN_AND_MEAN _WIN32_WINNT=0x0600)

# Generated code: compiled once, without our warning flags.
add_library(openbits_guids STATIC ${GENERATED_DIR}/bits_i.c ${GENERATED_DIR}/openbits_control_i.c)
target_compile_definitions(openbits_guids PRIVATE ${OPENBITS_DEFINITIONS})
target_compile_options(openbits_guids PRIVATE -w)
add_dependencies(openbits_guids openbits_idl)

# bits_p.c and openbits_control_p.c (proxies and stubs of every interface) are built into
# openbits.dll: src/proxy.c serves them as the class of CLSID_openbits_ProxyStub (out-of-process
# use, docs/conformance.md).
set_source_files_properties(${GENERATED_DIR}/bits_p.c ${GENERATED_DIR}/openbits_control_p.c PROPERTIES
    GENERATED TRUE COMPILE_OPTIONS "-w;-include;${CMAKE_SOURCE_DIR}/src/proxy.h")

# --- windmc: the message table (src/messages.mc) --------------------------------------------
# Generates messages.rc, messages.h and messages_MSG00409.bin (Unicode text) in build/generated;
# src/openbits.rc includes messages.rc, and windres finds the .bin through -I${GENERATED_DIR}.
find_program(WINDMC ${MINGW_TRIPLET}-windmc REQUIRED)
set(MESSAGES_MC ${CMAKE_SOURCE_DIR}/src/messages.mc)
set(MESSAGES_RC ${GENERATED_DIR}/messages.rc)
set(MESSAGES_OUTPUTS ${MESSAGES_RC} ${GENERATED_DIR}/messages.h ${GENERATED_DIR}/messages_MSG00409.bin)
add_custom_command(
    OUTPUT ${MESSAGES_OUTPUTS}
    COMMAND ${WINDMC} -U -b -h ${GENERATED_DIR} -r ${GENERATED_DIR} ${MESSAGES_MC}
    DEPENDS ${MESSAGES_MC}
    WORKING_DIRECTORY ${GENERATED_DIR}
    COMMENT "windmc src/messages.mc"
    VERBATIM)
add_custom_target(openbits_messages DEPENDS ${MESSAGES_OUTPUTS})

# --- the platform-free core ----------------------------------------------------------------
add_library(openbits_core STATIC ${CORE_SOURCES})
target_include_directories(openbits_core PUBLIC ${CMAKE_SOURCE_DIR}/src ${GENERATED_DIR})
target_compile_definitions(openbits_core PUBLIC ${OPENBITS_DEFINITIONS})
target_compile_options(openbits_core PRIVATE ${OPENBITS_WARNINGS})
add_dependencies(openbits_core openbits_idl)

# --- openbits.dll ------------------------------------------------------------------------------
# Every src/*.c is part of the DLL (one COM object per file).
file(GLOB OPENBITS_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/*.c)
add_library(openbits SHARED ${OPENBITS_SOURCES} ${GENERATED_DIR}/bits_p.c ${GENERATED_DIR}/openbits_control_p.c
    src/openbits.rc src/openbits.def)
set_target_properties(openbits PROPERTIES PREFIX "" OUTPUT_NAME openbits)
target_include_directories(openbits PRIVATE ${CMAKE_SOURCE_DIR}/include)
target_compile_options(openbits PRIVATE ${OPENBITS_WARNINGS})
target_link_libraries(openbits PRIVATE openbits_core openbits_guids ole32 oleaut32 rpcrt4 uuid advapi32 crypt32 winhttp shlwapi)
target_link_options(openbits PRIVATE -static-libgcc)
add_dependencies(openbits openbits_messages)
set_source_files_properties(src/openbits.rc PROPERTIES
    OBJECT_DEPENDS "${GENERATED_DIR}/bits.tlb;${MESSAGES_OUTPUTS}")
set(CMAKE_RC_FLAGS "${CMAKE_RC_FLAGS} -I${GENERATED_DIR}")
enable_language(RC)

# --- the Wine prefix the tests run in -------------------------------------------------------
set(WINE_PREFIX ${CMAKE_BINARY_DIR}/wineprefix)
add_custom_command(
    OUTPUT ${WINE_PREFIX}/.created
    COMMAND ${CMAKE_COMMAND} -E env WINEPREFIX=${WINE_PREFIX} WINEDEBUG=-all
            WINEDLLOVERRIDES=mscoree,mshtml= wineboot -i
    COMMAND ${CMAKE_COMMAND} -E env WINEPREFIX=${WINE_PREFIX} wineserver -w
    COMMAND ${CMAKE_COMMAND} -E touch ${WINE_PREFIX}/.created
    COMMENT "Creating the tests' Wine prefix"
    VERBATIM)
add_custom_target(wineprefix ALL DEPENDS ${WINE_PREFIX}/.created)

include(${CMAKE_SOURCE_DIR}/tests/tests-windows.cmake)

# --- examples: plain BITS clients ---------------------------------------------------------------
add_executable(create_and_get examples/create_and_get.c)
target_include_directories(create_and_get PRIVATE ${GENERATED_DIR})
target_compile_definitions(create_and_get PRIVATE ${OPENBITS_DEFINITIONS})
target_compile_options(create_and_get PRIVATE ${OPENBITS_WARNINGS})
target_link_libraries(create_and_get PRIVATE openbits_guids ole32 uuid)
target_link_options(create_and_get PRIVATE -static-libgcc)

# download.exe: a BITS download client (wmain, so -municode).
add_executable(download examples/download.c)
target_include_directories(download PRIVATE ${GENERATED_DIR})
target_compile_definitions(download PRIVATE ${OPENBITS_DEFINITIONS})
target_compile_options(download PRIVATE ${OPENBITS_WARNINGS} -municode)
target_link_libraries(download PRIVATE openbits_guids ole32 uuid)
target_link_options(download PRIVATE -static-libgcc -municode)

# --- the test double's worked examples (docs/test-double.md), built and run as tests ----------
# A sample BITS client and its tests: in C with cmocka, and in C++. They load openbits.dll from
# their own directory and switch the test double on (HKLM in the tests' prefix).
enable_language(CXX)
add_library(sample_client STATIC examples/test_double/sample_client.c)
target_include_directories(sample_client PUBLIC ${GENERATED_DIR} examples/test_double ${CMAKE_SOURCE_DIR}/include)
target_compile_definitions(sample_client PUBLIC ${OPENBITS_DEFINITIONS})
target_compile_options(sample_client PRIVATE ${OPENBITS_WARNINGS})
target_link_libraries(sample_client PUBLIC openbits_guids ole32 uuid)
add_dependencies(sample_client openbits_idl)
add_executable(test_sample_client examples/test_double/test_sample_client.c)
target_compile_options(test_sample_client PRIVATE ${OPENBITS_WARNINGS})
target_link_libraries(test_sample_client PRIVATE sample_client cmocka_mingw)
add_executable(test_sample_client_cpp examples/test_double/test_sample_client.cpp)
target_compile_options(test_sample_client_cpp PRIVATE ${OPENBITS_WARNINGS})
target_link_libraries(test_sample_client_cpp PRIVATE sample_client)
target_link_options(test_sample_client PRIVATE -static-libgcc)
target_link_options(test_sample_client_cpp PRIVATE -static-libgcc -static-libstdc++)
foreach(name test_sample_client test_sample_client_cpp)
    add_dependencies(${name} openbits wineprefix)
    add_test(NAME wine.example.${name} COMMAND ${name})
    set_tests_properties(wine.example.${name} PROPERTIES ENVIRONMENT "${WINE_TEST_ENV}"
        FIXTURES_REQUIRED wine TIMEOUT 300 RESOURCE_LOCK wine_registry)
endforeach()

# --- the manager benchmark (not a test) ---------------------------------------------------------
include(${CMAKE_SOURCE_DIR}/bench/bench-windows.cmake)
