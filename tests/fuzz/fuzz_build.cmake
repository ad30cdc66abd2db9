# The fuzz build (HASPOOL_FUZZ=ON, clang; scripts/fuzz makes it): every target an executable of
# its own source and the library files it exercises, compiled with the coverage hooks and
# ASan+UBSan (top CMakeLists.txt), linking libFuzzer's main. It sees only the headers its
# library exposes and links what that library links, so the layering holds here too.
add_custom_target(haspool_fuzz_targets)

function(haspool_fuzz_target name source library)
  cmake_parse_arguments(F "" "" "SOURCES" ${ARGN})
  list(TRANSFORM F_SOURCES PREPEND ${PROJECT_SOURCE_DIR}/)
  add_executable(${name} ${PROJECT_SOURCE_DIR}/tests/fuzz/${source} ${F_SOURCES})
  target_include_directories(${name} PRIVATE $<TARGET_PROPERTY:${library},INTERFACE_INCLUDE_DIRECTORIES>)
  target_link_libraries(${name} PRIVATE $<TARGET_PROPERTY:${library},INTERFACE_LINK_LIBRARIES>)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  target_compile_definitions(${name} PRIVATE HASPOOL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  add_dependencies(haspool_fuzz_targets ${name})
endfunction()

include(${CMAKE_CURRENT_LIST_DIR}/targets.cmake)
