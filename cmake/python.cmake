# The Python 3 the ngvi package is installed for and tested with: NGVI_PYTHON_EXECUTABLE if given,
# else the first python3 on the PATH that imports numpy and pytest, else the first that imports numpy
# (the package needs it; the tests need pytest too). Sets NGVI_PYTHON_TESTS (it can run the Python and
# command-line tests) and NGVI_PYTHON_DEFAULT_DIR, where that Python looks for packages under a prefix.
function(ngvi_python_imports result candidate)
  execute_process(COMMAND ${candidate} -c "import ${NGVI_PYTHON_MODULES}" RESULT_VARIABLE failed
                  OUTPUT_QUIET ERROR_QUIET)
  if(failed)
    set(${result} FALSE PARENT_SCOPE)
  endif()
endfunction()
foreach(NGVI_PYTHON_MODULES "numpy, pytest" "numpy")
  find_program(NGVI_PYTHON_EXECUTABLE NAMES python3 VALIDATOR ngvi_python_imports
               DOC "Python 3 with NumPy (and pytest, for the tests), for the ngvi package and its tests")
endforeach()
set(NGVI_PYTHON_TESTS FALSE)
if(NGVI_PYTHON_EXECUTABLE)
  execute_process(COMMAND ${NGVI_PYTHON_EXECUTABLE} -c "import numpy, pytest" RESULT_VARIABLE no_pytest
                  OUTPUT_QUIET ERROR_QUIET)
  if(NOT no_pytest)
    set(NGVI_PYTHON_TESTS TRUE)
  endif()
endif()

if(NGVI_PYTHON_EXECUTABLE)
  # Debian's Python reads <prefix>/lib/python3.X/dist-packages, the others .../site-packages.
  string(CONCAT script "import sys\n"
                "v = sys.version_info\n"
                "packages = 'dist-packages' if any(p.endswith('dist-packages') for p in sys.path) else 'site-packages'\n"
                "print(f'lib/python{v.major}.{v.minor}/{packages}')")
  execute_process(COMMAND ${NGVI_PYTHON_EXECUTABLE} -c "${script}" OUTPUT_VARIABLE NGVI_PYTHON_DEFAULT_DIR
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
else()
  message(STATUS "ngvi: no python3 with numpy found; the Python package is installed but not tested")
  set(NGVI_PYTHON_DEFAULT_DIR lib/python3/dist-packages)
endif()

# An optional Python that also imports MODULES, for the tests of WHAT: VARIABLE if given; else the
# build folder's VENV that .ci/setup makes, or python3 on the PATH, if either imports them. Without
# one those tests are not registered.
function(ngvi_find_optional_python variable venv modules what)
  set(NGVI_PYTHON_MODULES "${modules}")  # what ngvi_python_imports checks
  find_program(${variable} NAMES python3 HINTS ${PROJECT_BINARY_DIR}/${venv}/bin VALIDATOR ngvi_python_imports
               DOC "Python 3 with ${modules}, for ${what}")
  if(NOT ${variable})
    message(STATUS "ngvi: no python3 with ${modules} found; ${what} will not run")
  endif()
endfunction()

# JAX for the autodiff tests and the JAX examples; Dask (distributed, dataframe) and pyarrow for
# ngvi.dask's tests and example. Both optional.
ngvi_find_optional_python(NGVI_JAX_PYTHON_EXECUTABLE venv-jax "jax, numpy, pytest"
                          "the JAX tests and examples")
ngvi_find_optional_python(NGVI_DASK_PYTHON_EXECUTABLE venv-dask "dask.dataframe, distributed, pyarrow, numpy, pytest"
                          "the Dask tests and example")
