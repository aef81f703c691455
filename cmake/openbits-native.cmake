# SPDX-License-Identifier: MIT
# The native Linux build of the platform-free core, with Wine's headers, under ASan and UBSan.

set(SANITIZE -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)

# Our own header from our IDL (only the C header is needed natively).
add_custom_command(
    OUTPUT ${GENERATED_DIR}/bits.h
    COMMAND ${WIDL} -I${WINE_INCLUDE_DIR} -h -H bits.h ${CMAKE_SOURCE_DIR}/idl/bits.idl
    DEPENDS ${CMAKE_SOURCE_DIR}/idl/bits.idl
    WORKING_DIRECTORY ${GENERATED_DIR}
    COMMENT "widl idl/bits.idl (header)"
    VERBATIM)
add_custom_target(openbits_idl DEPENDS ${GENERATED_DIR}/bits.h)

add_library(openbits_core STATIC ${CORE_SOURCES})
target_include_directories(openbits_core PUBLIC ${CMAKE_SOURCE_DIR}/src ${GENERATED_DIR})
target_include_directories(openbits_core SYSTEM PUBLIC ${WINE_INCLUDE_DIR})
target_compile_options(openbits_core PUBLIC -fshort-wchar ${SANITIZE})
target_compile_options(openbits_core PRIVATE ${OPENBITS_WARNINGS})
target_link_options(openbits_core PUBLIC ${SANITIZE})
add_dependencies(openbits_core openbits_idl)

find_path(CMOCKA_INCLUDE_DIR cmocka.h REQUIRED)
find_library(CMOCKA_LIBRARY cmocka REQUIRED)

include(${CMAKE_SOURCE_DIR}/tests/tests-native.cmake)
