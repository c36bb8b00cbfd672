# cmake -P script run by the ctest tests `compile_order_mismatch*`: compiles SOURCE with
# -D<DEFINE> (default MGVAE_EXPECT_COMPILE_ERROR) and passes only if the compiler rejects it for the right reason (the
# order mismatch at the typed equivariant op), not for an unrelated error such as a missing header.
#   -DCXX=<compiler> -DSOURCE=<file> -DINCLUDES=<dir|dir|...> [-DDEFINE=<macro[=value]>] [-DEXPECT=<regex>]
# (INCLUDES is '|'-separated: add_test would split a ';'-list into separate arguments.)
if(NOT CXX OR NOT SOURCE)
  message(FATAL_ERROR "expect_fail.cmake: pass -DCXX=<compiler> -DSOURCE=<file> -DINCLUDES=<dirs>")
endif()
if(NOT DEFINED EXPECT)
  set(EXPECT "equivariant_2to2")
endif()
if(NOT DEFINED DEFINE)
  set(DEFINE "MGVAE_EXPECT_COMPILE_ERROR")
endif()
set(args -std=c++20 -fsyntax-only "-D${DEFINE}")
string(REPLACE "|" ";" include_list "${INCLUDES}")
foreach(dir IN LISTS include_list)
  list(APPEND args "-I${dir}")
endforeach()
execute_process(COMMAND "${CXX}" ${args} "${SOURCE}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "expect_fail: ${SOURCE} compiled with -D${DEFINE}; "
                      "a first-order tensor was accepted where a second-order one is required")
endif()
# The first error must be about the typed op (no matching / deleted overload), not an unrelated one.
string(REGEX MATCH "error:[^\n]*" first_error "${err}${out}")
if(NOT first_error MATCHES "(no matching (member )?function|use of deleted function).*${EXPECT}")
  message(FATAL_ERROR "expect_fail: ${SOURCE} failed to compile, but not at the order mismatch "
                      "(expected 'no matching function' for ${EXPECT}); first error:\n  ${first_error}\n"
                      "full output:\n${err}${out}")
endif()
message(STATUS "expect_fail: rejected as expected (exit ${rc}): ${first_error}")
