# SPDX-License-Identifier: MIT
# The manager benchmark (scripts/bench.sh, docs/performance.md): bench_manager.exe next to
# openbits.dll in build/bin. Not a test: CTest never runs it.
#
# It loads openbits.dll in process like the COM tests do, and compiles src/owner.c in to time
# the pieces of CreateJob (bench/profile.c; job.h only for sizeof(struct job)).
add_executable(bench_manager
    ${CMAKE_SOURCE_DIR}/bench/bench_manager.c
    ${CMAKE_SOURCE_DIR}/bench/profile.c
    ${CMAKE_SOURCE_DIR}/src/owner.c
    ${CMAKE_SOURCE_DIR}/src/common.c
    ${CMAKE_SOURCE_DIR}/src/debug.c)
target_include_directories(bench_manager PRIVATE ${CMAKE_SOURCE_DIR}/bench ${CMAKE_SOURCE_DIR}/src
    ${GENERATED_DIR})
target_compile_definitions(bench_manager PRIVATE ${OPENBITS_DEFINITIONS})
target_compile_options(bench_manager PRIVATE ${OPENBITS_WARNINGS})
target_link_libraries(bench_manager PRIVATE openbits_guids ole32 uuid advapi32)
target_link_options(bench_manager PRIVATE -static-libgcc)
add_dependencies(bench_manager openbits openbits_idl)

# bench_oop.exe: GetState, GetJob and CreateJob across the process boundary, through whichever BITS
# answers CLSCTX_LOCAL_SERVER (scripts/bench-oop.sh runs it for Wine's BITS and for openbits).
add_executable(bench_oop ${CMAKE_SOURCE_DIR}/bench/bench_oop.c)
target_include_directories(bench_oop PRIVATE ${GENERATED_DIR})
target_compile_definitions(bench_oop PRIVATE ${OPENBITS_DEFINITIONS})
target_compile_options(bench_oop PRIVATE ${OPENBITS_WARNINGS})
target_link_libraries(bench_oop PRIVATE openbits_guids ole32 uuid)
target_link_options(bench_oop PRIVATE -static-libgcc)
add_dependencies(bench_oop openbits openbits_idl)
