"""libngvi.so and its CUDA module, libngvi_cuda.so (host/cuda/module.hpp, host/engine/module_loader.hpp).

libngvi.so must need no CUDA library, in every build. Where the module or a device is missing,
backend_available("cuda") says which, Backend::Auto fits on the CPU and Backend::Cuda fails with the
same reason. The library looks for the module once per process, so each case runs in a process of its
own, with NGVI_CUDA_MODULE pointing at a file or not set. Environment (tests/CMakeLists.txt):
NGVI_LIBRARY, NGVI_TEST_IMPOSTOR (a module built for another version), NGVI_TEST_WITH_CUDA, and in
CUDA builds NGVI_TEST_CUDA_MODULE (the real module).
"""
import json
import os
import re
import subprocess
import sys

import pytest

LIBRARY = os.environ["NGVI_LIBRARY"]
WITH_CUDA = os.environ.get("NGVI_TEST_WITH_CUDA") == "ON"
CUDA_LIBRARIES = re.compile(r"lib(cudart|cublas|cublasLt|cusolver|cusparse|nvJitLink|cuda)\.so")

# What a process sees: backend_available("cuda"), and what fit does with backend "auto" and "cuda".
PROBE = r"""
import json, numpy as np, ngvi
rng = np.random.default_rng(0)
x = rng.normal(size=(3, 20, 2)); y = x @ np.array([1.0, -1.0]) + rng.normal(size=(3, 20))
available, why = ngvi.backend_available("cuda")
auto = ngvi.fit(ngvi.linear(x, y), ngvi.Batch(3, 2), backend="auto")
try:
    cuda = ngvi.fit(ngvi.linear(x, y), ngvi.Batch(3, 2), backend="cuda").backend
except ngvi.NgviError as e:
    cuda = str(e)
print(json.dumps({"available": available, "why": why, "auto": auto.backend, "auto_status": auto.status.tolist(),
                  "cuda": cuda}))
"""


def probe(module=None, **environment):
    env = dict(os.environ, **environment)
    env.pop("NGVI_CUDA_MODULE", None)
    if module is not None:
        env["NGVI_CUDA_MODULE"] = module
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def needed(path):
    """The NEEDED entries of an ELF file's dynamic section, as readelf prints them."""
    dynamic = subprocess.run(["readelf", "--dynamic", "--wide", path], capture_output=True, text=True, check=True)
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic.stdout)


def assert_missing(result, *reason):
    """The module or the device is missing: every answer says so, and Auto fits on the CPU."""
    assert not result["available"]
    for part in reason:
        assert part in result["why"], result["why"]
    assert result["auto"] == "cpu" and result["auto_status"] == [0, 0, 0]
    reason = result["why"][len("ngvi_backend_available: "):]
    assert result["why"].startswith("ngvi_backend_available: ") and result["cuda"].startswith("ngvi_fit: ")
    assert "options.backend = cuda, but " + reason in result["cuda"], result["cuda"]


def test_the_library_needs_no_cuda_library():
    libraries = needed(LIBRARY)
    assert any(name.startswith("libc.so") for name in libraries), libraries  # the parse found the entries
    assert not [name for name in libraries if CUDA_LIBRARIES.search(name)], libraries


@pytest.mark.skipif(not WITH_CUDA, reason="this build has no CUDA module")
def test_the_module_carries_the_cuda_libraries_and_needs_the_library():
    libraries = needed(os.environ["NGVI_TEST_CUDA_MODULE"])
    for name in ("libcudart", "libcublas", "libcusolver", "libngvi.so"):
        assert any(library.startswith(name) for library in libraries), (name, libraries)


def test_a_missing_module_is_named_with_the_directory_searched(tmp_path):
    # A copy of the library in a folder of its own: no module beside it, none on the search path.
    library = tmp_path / os.path.basename(LIBRARY)
    library.write_bytes(open(LIBRARY, "rb").read())
    result = probe(NGVI_LIBRARY=str(library))
    assert_missing(result, "ngvi has no CUDA backend here", "libngvi_cuda.so is neither in " + str(tmp_path),
                   "NGVI_CUDA_MODULE")


def test_the_module_beside_the_library_is_found():
    if not WITH_CUDA:
        pytest.skip("this build has no CUDA module")
    result = probe()
    # Found, opened and accepted: what is left is whether a device is present.
    if not result["available"]:
        assert_missing(result, "no CUDA device is present")
    else:
        assert result["why"] == "" and result["auto"] == "cuda" and result["cuda"] == "cuda"


def test_the_variable_names_the_module(tmp_path):
    absent = tmp_path / "libngvi_cuda.so"
    assert_missing(probe(str(absent)), f"NGVI_CUDA_MODULE={absent} is not a file")
    not_elf = tmp_path / "text.so"
    not_elf.write_text("not a shared object\n")
    assert_missing(probe(str(not_elf)), f"{not_elf} could not be loaded")
    # A shared object that is not an ngvi module: libngvi.so itself.
    assert_missing(probe(LIBRARY), "is not an ngvi CUDA module (it has no symbol ngvi_cuda_module)")


def test_a_module_for_another_version_is_refused():
    impostor = os.environ["NGVI_TEST_IMPOSTOR"]
    result = probe(impostor)
    assert_missing(result, f"{impostor} was built for ngvi 0.0.0, module ABI 0, not for this library (ngvi ")
