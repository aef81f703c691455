# SPDX-License-Identifier: MIT
# Core tests, built natively under ASan/UBSan against Debian's libcmocka-dev.
file(GLOB CORE_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/core/test_*.c)
foreach(source IN LISTS CORE_TESTS)
    get_filename_component(name ${source} NAME_WE)
    string(REGEX REPLACE "^test_" "" name ${name})
    add_executable(native_test_${name} ${source})
    # A test's fakes, when it has some: tests/core/fake_<name>.c (test_engine.c: fake_engine.c).
    # (test_engine_upload.c shares them: the fakes are named after the first word.)
    string(REGEX REPLACE "_.*" "" fakes ${name})
    if(EXISTS ${CMAKE_SOURCE_DIR}/tests/core/fake_${fakes}.c)
        target_sources(native_test_${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests/core/fake_${fakes}.c)
    endif()
    target_link_libraries(native_test_${name} PRIVATE openbits_core ${CMOCKA_LIBRARY})
    target_include_directories(native_test_${name} PRIVATE ${CMOCKA_INCLUDE_DIR})
    target_compile_options(native_test_${name} PRIVATE ${OPENBITS_WARNINGS})
    add_test(NAME native.${name} COMMAND native_test_${name})
    set_tests_properties(native.${name} PROPERTIES
        ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endforeach()

# The loopback HTTP test server's self-test (tests/servers/), with the Python the Wine tests use.
find_program(OPENBITS_PYTHON3 python3 HINTS /usr/bin REQUIRED)
add_test(NAME native.http_server
    COMMAND ${OPENBITS_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/servers/test_http_server.py)
set_tests_properties(native.http_server PROPERTIES ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1" TIMEOUT 120)

# The BITS upload protocol side of the same server (bits_upload.py).
add_test(NAME native.bits_upload
    COMMAND ${OPENBITS_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/servers/test_bits_upload.py)
set_tests_properties(native.bits_upload PROPERTIES ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1" TIMEOUT 120)
