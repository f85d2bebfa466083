# Tests of the C ABI, the exported symbols and the Python package (included by tests/CMakeLists.txt).

# ngvi.h compiled as strict C99 against the shared library.
add_executable(capi_c_test capi_c_test.c)
set_target_properties(capi_c_test PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
target_compile_options(capi_c_test PRIVATE -Wall -Wextra -Wpedantic -Werror)
target_compile_definitions(capi_c_test PRIVATE NGVI_EXPECTED_VERSION="${PROJECT_VERSION}")
target_link_libraries(capi_c_test PRIVATE ngvi m)
add_test(NAME capi_c_test COMMAND capi_c_test)
set_tests_properties(capi_c_test PROPERTIES ENVIRONMENT "${NGVI_CPU_TEST_ENVIRONMENT}")

# The C ABI from C++, against the shared library (the real ABI) and its exported C++ API as the oracle.
foreach(name capi_test capi_optimizer_test capi_checkpoint_test capi_pooling_test)
  add_executable(${name} ${name}.cpp)
  target_link_libraries(${name} PRIVATE ngvi GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES ENVIRONMENT "${NGVI_CPU_TEST_ENVIRONMENT}")
endforeach()

# Exported symbols: the C ABI and namespace ngvi only.
add_test(NAME capi_symbols COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/capi_symbols.sh $<TARGET_FILE:ngvi>
                                   ${PROJECT_SOURCE_DIR}/include/ngvi/ngvi.h)

# The Python package, from the source tree over the library just built.
if(NGVI_PYTHON_TESTS)
  add_test(NAME python COMMAND ${NGVI_PYTHON_EXECUTABLE} -m pytest -q -p no:cacheprovider
                               ${CMAKE_CURRENT_SOURCE_DIR}/python)
  set_tests_properties(python PROPERTIES ENVIRONMENT
    "NGVI_LIBRARY=$<TARGET_FILE:ngvi>;PYTHONPATH=${PROJECT_SOURCE_DIR}/host/python;PYTHONDONTWRITEBYTECODE=1;${NGVI_CPU_TEST_ENVIRONMENT}")
else()
  message(STATUS "ngvi: python3 with numpy and pytest not found; the Python tests will not run")
endif()
# The autodiff path under a Python with JAX (where the test above skips it); its PyTorch cases run where
# that Python also has torch (NGVI_SETUP_TORCH=1 bash .ci/setup), and skip elsewhere.
if(NGVI_JAX_PYTHON_EXECUTABLE)
  add_test(NAME python.autodiff COMMAND ${NGVI_JAX_PYTHON_EXECUTABLE} -m pytest -q -p no:cacheprovider
                                        ${CMAKE_CURRENT_SOURCE_DIR}/python/test_autodiff.py
                                        ${CMAKE_CURRENT_SOURCE_DIR}/python/test_constraints.py)
  set_tests_properties(python.autodiff PROPERTIES ENVIRONMENT
    "NGVI_LIBRARY=$<TARGET_FILE:ngvi>;PYTHONPATH=${PROJECT_SOURCE_DIR}/host/python;PYTHONDONTWRITEBYTECODE=1;${NGVI_CPU_TEST_ENVIRONMENT}")
endif()
# ngvi.dask on a LocalCluster, under a Python with Dask (where the test above skips it).
if(NGVI_DASK_PYTHON_EXECUTABLE)
  add_test(NAME python.dask COMMAND ${NGVI_DASK_PYTHON_EXECUTABLE} -m pytest -q -p no:cacheprovider
                                    ${CMAKE_CURRENT_SOURCE_DIR}/python/test_dask.py)
  set_tests_properties(python.dask PROPERTIES TIMEOUT 600 ENVIRONMENT
    "NGVI_LIBRARY=$<TARGET_FILE:ngvi>;PYTHONPATH=${PROJECT_SOURCE_DIR}/host/python;PYTHONDONTWRITEBYTECODE=1;${NGVI_CPU_TEST_ENVIRONMENT}")
endif()

# The installed package, used out of tree by a C (pkg-config), a C++ (find_package) and a Python consumer,
# the installed demo, and the wheel (`pip install .` builds the library again, in build/wheel: minutes
# the first time; PyPI must be reachable).
find_program(NGVI_PKG_CONFIG pkg-config)
if(NGVI_PYTHON_EXECUTABLE AND NGVI_PKG_CONFIG)
  add_test(NAME consumers COMMAND ${PROJECT_SOURCE_DIR}/.ci/consumers ${PROJECT_BINARY_DIR})
  set_tests_properties(consumers PROPERTIES TIMEOUT 1800 ENVIRONMENT "${NGVI_CPU_TEST_ENVIRONMENT}")
else()
  message(STATUS "ngvi: pkg-config or python3 with numpy not found; the consumers test will not run")
endif()
