# tests/fuzz/fuzz.cmake - one libFuzzer program per parser of outside input
# (tests/fuzz/fuzz_<name>.c), included by CMakeLists.txt when CD_FUZZ=ON.
# scripts/fuzz.sh runs them against tests/fuzz/corpus/<name>/.
set(CD_FUZZ_TARGETS
    signature:cd_stripe form:cd_stripe webhook:cd_billing helpers:cd_api
    time:cd_util money:cd_util config:cd_api static:cd_api url:cd_util)
foreach(pair ${CD_FUZZ_TARGETS})
  string(REPLACE ":" ";" parts ${pair})
  list(GET parts 0 name)
  list(GET parts 1 lib)
  set(srcs ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${name}.c)
  if(name STREQUAL "config")
    list(APPEND srcs ${CD_CONFIG_SRC})
  endif()
  add_executable(fuzz_${name} ${srcs})
  target_link_libraries(fuzz_${name} PRIVATE ${lib})
  target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
endforeach()
