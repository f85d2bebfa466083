"""Array arguments: NumPy arrays (and anything np.asarray takes) for host memory, and objects with the
CUDA array interface or DLPack on a CUDA device, passed as device pointers."""
import ctypes

import numpy as np

from . import _lib

_DTYPES = {np.dtype(np.float32): _lib.FLOAT32, np.dtype(np.float64): _lib.FLOAT64,
           np.dtype(np.int32): _lib.INT32, np.dtype(np.int64): _lib.INT64}

# DLPack (dlpack.h): device types and the C structs of a capsule's DLManagedTensor.
_DL_CPU, _DL_CUDA, _DL_CUDA_HOST, _DL_CUDA_MANAGED = 1, 2, 3, 13
_DL_INT, _DL_FLOAT = 0, 2


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32),
                ("ndim", ctypes.c_int32), ("dtype", _DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


class _DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", _DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", ctypes.c_void_p)]


_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


class DeviceArray:
    """A C-contiguous array in device memory: its pointer, shape and dtype, and what keeps it alive."""

    def __init__(self, pointer, shape, dtype, owner):
        self.pointer, self.shape, self.dtype, self.owner = pointer, tuple(shape), np.dtype(dtype), owner


def _contiguous(shape, strides, itemsize):
    expected = itemsize
    for n, s in zip(reversed(shape), reversed(strides)):
        if n > 1 and s != expected:
            return False
        expected *= n
    return True


def _from_cuda_array_interface(obj):
    cai = obj.__cuda_array_interface__
    shape, dtype = tuple(cai["shape"]), np.dtype(cai["typestr"])
    strides = cai.get("strides")
    if strides is not None and not _contiguous(shape, strides, dtype.itemsize):
        raise ValueError("ngvi: device arrays must be C-contiguous")
    return DeviceArray(cai["data"][0], shape, dtype, obj)


def _from_dlpack(obj):
    capsule = obj.__dlpack__()
    tensor = _DLManagedTensor.from_address(_capsule_pointer(capsule, b"dltensor")).dl_tensor
    shape = tuple(tensor.shape[k] for k in range(tensor.ndim))
    if tensor.dtype.lanes != 1 or tensor.dtype.code not in (_DL_INT, _DL_FLOAT):
        raise ValueError("ngvi: DLPack arrays must hold float32, float64, int32 or int64")
    dtype = np.dtype(("f" if tensor.dtype.code == _DL_FLOAT else "i") + str(tensor.dtype.bits // 8))
    if tensor.strides and not _contiguous(shape, [tensor.strides[k] * dtype.itemsize for k in range(tensor.ndim)],
                                          dtype.itemsize):
        raise ValueError("ngvi: device arrays must be C-contiguous")
    # The capsule (kept with the array) still owns the tensor: its destructor frees it once unused.
    return DeviceArray(tensor.data + tensor.byte_offset, shape, dtype, (obj, capsule))


def as_array(obj, dtype):
    """A host NumPy array of `dtype` (C-contiguous), or a DeviceArray for CUDA memory."""
    if hasattr(obj, "__cuda_array_interface__"):
        return _from_cuda_array_interface(obj)
    if not isinstance(obj, np.ndarray) and hasattr(obj, "__dlpack__") and hasattr(obj, "__dlpack_device__"):
        device_type, _ = obj.__dlpack_device__()
        if device_type in (_DL_CUDA, _DL_CUDA_MANAGED):
            return _from_dlpack(obj)
        if device_type in (_DL_CPU, _DL_CUDA_HOST):
            obj = np.from_dlpack(obj)
    return np.ascontiguousarray(obj, dtype=dtype)


def float_dtype(obj):
    """The package's one dtype rule for data: float32 if `obj` holds float32 (a NumPy, JAX or PyTorch
    array, or anything whose dtype is named float32), else float64 (float64, integers, lists)."""
    dtype = getattr(obj, "dtype", None)
    return np.dtype(np.float32 if str(dtype).rsplit(".", 1)[-1] == "float32" else np.float64)


def check_shape(array, shape, name):
    if array.shape != tuple(shape):
        raise ValueError(f"ngvi: {name} has shape {array.shape}, expected {tuple(shape)}")


def input_array(array):
    """The ngvi_input_array describing `array` (from as_array), or an absent one for None."""
    if array is None:
        return _lib.InputArray()
    if isinstance(array, DeviceArray):
        return _lib.InputArray(array.pointer, int(np.prod(array.shape, dtype=np.int64)),
                               _DTYPES.get(array.dtype, 0), _lib.MEMORY_DEVICE)
    return _lib.InputArray(array.ctypes.data, array.size, _DTYPES[array.dtype], _lib.MEMORY_HOST)


def output_array(array):
    """The ngvi_output_array describing a NumPy array, or an absent one for None."""
    if array is None:
        return _lib.OutputArray()
    return _lib.OutputArray(array.ctypes.data, array.size, _DTYPES[array.dtype], _lib.MEMORY_HOST)
