# mline_library(NAME [SOURCES c...] HEADERS h... DEPS d...): the static
# library meterline_NAME from SOURCES, by default every .c file in the
# calling folder.
#
# Why per-library include folders: include/meterline/ holds every header
# that crosses folders, but putting all of include/ on every target's path
# would let any module include any other. Instead each library gets its own
# folder under the build tree holding links to the public headers it owns
# (HEADERS), exported to its dependents only, so including a header of a
# library you do not depend on is a build error. DEPS are the only allowed
# dependencies (PUBLIC: a dependent sees what its dependencies export, as
# their headers include each other). The calling folder is a PRIVATE include
# path, for private headers (*_int.h) beside the sources.
include_guard(GLOBAL)

function(mline_library name)
  cmake_parse_arguments(L "" "" "SOURCES;HEADERS;DEPS" ${ARGN})
  set(inc ${CMAKE_BINARY_DIR}/include/${name})
  file(REMOVE_RECURSE ${inc})
  file(MAKE_DIRECTORY ${inc}/meterline)
  get_property(owned GLOBAL PROPERTY MLINE_HEADER_OWNERS)
  foreach(h ${L_HEADERS})
    set(src ${CMAKE_SOURCE_DIR}/include/meterline/${h})
    if(NOT EXISTS ${src})
      message(FATAL_ERROR "${name}: no header include/meterline/${h}")
    endif()
    if("${owned}" MATCHES "(^|;)${h}=")
      message(FATAL_ERROR "${name}: include/meterline/${h} has an owner already")
    endif()
    file(CREATE_LINK ${src} ${inc}/meterline/${h} SYMBOLIC)
    set_property(GLOBAL APPEND PROPERTY MLINE_HEADER_OWNERS "${h}=${name}")
  endforeach()
  set(srcs ${L_SOURCES})
  if(NOT srcs)
    file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.c)
  endif()
  add_library(meterline_${name} STATIC ${srcs})
  target_include_directories(meterline_${name}
      PUBLIC ${inc} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(meterline_${name} PUBLIC ${L_DEPS})
  # The graph as declared, for tests/layout (docs/architecture.md).
  set(edges "")
  foreach(d ${L_DEPS})
    if(d MATCHES "^meterline_(.*)$")
      list(APPEND edges ${CMAKE_MATCH_1})
    endif()
  endforeach()
  list(SORT edges)
  string(REPLACE ";" " " edges "${edges}")
  set_property(GLOBAL APPEND PROPERTY MLINE_DEP_LINES "${name}: ${edges}")
endfunction()

# Write the declared graph to layout-deps.txt in the build dir.
function(mline_write_deps)
  get_property(lines GLOBAL PROPERTY MLINE_DEP_LINES)
  list(SORT lines)
  string(REPLACE ";" "\n" text "${lines}")
  file(WRITE ${CMAKE_BINARY_DIR}/layout-deps.txt "${text}\n")
endfunction()

# Every header in include/meterline/ belongs to exactly one library.
function(mline_check_header_owners)
  get_property(owned GLOBAL PROPERTY MLINE_HEADER_OWNERS)
  file(GLOB all RELATIVE ${CMAKE_SOURCE_DIR}/include/meterline
       CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/include/meterline/*.h)
  foreach(h ${all})
    if(NOT "${owned}" MATCHES "(^|;)${h}=")
      message(FATAL_ERROR "include/meterline/${h} belongs to no library (HEADERS of mline_library)")
    endif()
  endforeach()
endfunction()
