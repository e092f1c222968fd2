# The core stays pure: ctest runs this on libmeterline_core.a.
#
# Every symbol the core's objects use but do not define must be on the list
# below: libc's memory and string functions, PCRE2, and base's allocation.
# A call to anything else (a clock, a file, a socket, logging, getenv,
# rand) fails the test, and so does a writable global (.data or .bss).
# Widen the list only for a function with no I/O and no hidden state.
#
# cmake -DNM=nm -DOBJDUMP=objdump -DLIB=libmeterline_core.a -P check_core.cmake
cmake_minimum_required(VERSION 3.25)
set(allowed
    # libc: memory, strings, formatting into buffers, numbers
    __errno_location __isoc99_sscanf abort free malloc calloc realloc
    memchr memcmp memcpy memmove memset snprintf vsnprintf strchr strcmp
    strcspn strlen strncmp strnlen strrchr strspn strstr strtol strtoll
    strtoul strtoull qsort bsearch __stack_chk_fail
    # base: allocation that cannot fail, bounded copy, bugs
    xmalloc xcalloc xrealloc xstrdup strlcpy_s fatalx)
set(allowed_prefixes pcre2_ __asan __ubsan __sanitizer __odr_asan)

execute_process(COMMAND ${NM} -u --format=just-symbols ${LIB}
    OUTPUT_VARIABLE undef RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "nm -u ${LIB} failed")
endif()
execute_process(COMMAND ${NM} --defined-only --format=just-symbols ${LIB}
    OUTPUT_VARIABLE def)
string(REPLACE "\n" ";" undef "${undef}")
string(REPLACE "\n" ";" def "${def}")
list(REMOVE_DUPLICATES undef)
set(bad "")
foreach(sym ${undef})
  if(sym STREQUAL "" OR sym MATCHES ":$")
    continue()
  endif()
  if(sym IN_LIST def OR sym IN_LIST allowed)
    continue()
  endif()
  set(ok FALSE)
  foreach(p ${allowed_prefixes})
    if(sym MATCHES "^${p}")
      set(ok TRUE)
    endif()
  endforeach()
  if(NOT ok)
    list(APPEND bad ${sym})
  endif()
endforeach()

# Writable globals: objects in .data or .bss (const tables of pointers sit
# in .data.rel.ro and are fine).
execute_process(COMMAND ${OBJDUMP} -t ${LIB} OUTPUT_VARIABLE table)
string(REGEX MATCHALL "[^\n]*[ \t]O[ \t]+\\.(data|bss)[ \t][^\n]*" objects "${table}")
set(writable "")
foreach(line ${objects})
  # AddressSanitizer's own bookkeeping, in sanitizer builds only.
  if(NOT line MATCHES "[ \t]__(odr_)?asan")
    list(APPEND writable "${line}")
  endif()
endforeach()

if(bad OR writable)
  string(REPLACE ";" " " bad "${bad}")
  string(REPLACE ";" "\n  " writable "${writable}")
  message(FATAL_ERROR "the core is no longer pure:\n"
      "  calls: ${bad}\n  writable globals:\n  ${writable}")
endif()
message(STATUS "core: pure (every external symbol on the allowed list, no writable globals)")
