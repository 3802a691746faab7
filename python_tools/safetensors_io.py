"""Minimal safetensors reader/writer on numpy (no `safetensors` package needed).

File layout (https://github.com/huggingface/safetensors):
  8 bytes      little-endian u64 N, the header length
  N bytes      UTF-8 JSON: {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets"}}
               padded with spaces so that 8 + N is a multiple of 8
  rest         the data section; data_offsets [begin, end) are relative to its start

write() stores tensors contiguously in sorted-name order, little-endian, C order, and emits a
compact, key-sorted JSON header, so equal inputs give byte-identical files.
read() checks the header (dtypes, sizes, offsets cover the data section without gaps or overlap).

    write(path, {"x": np.zeros((2, 3))}, {"note": "hello"})
    tensors, metadata = read(path)
"""
import json
import struct

import numpy as np

# safetensors dtype name <-> little-endian numpy dtype.
_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"),
    "U32": np.dtype("<u4"),
    "U16": np.dtype("<u2"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_NAMES = {(dt.kind, dt.itemsize): name for name, dt in _DTYPES.items()}

_MAX_HEADER = 100 * 1024 * 1024  # the reference implementation's limit


def _dtype_name(arr):
    key = (arr.dtype.kind, arr.dtype.itemsize)
    if key not in _NAMES:
        raise TypeError(f"safetensors: unsupported numpy dtype {arr.dtype}; "
                        f"expected one of {sorted(str(d) for d in _DTYPES.values())}")
    return _NAMES[key]


def write(path, tensors, metadata=None):
    """Writes a dict {name: numpy array} and an optional {str: str} metadata dict to path."""
    if metadata is not None:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError(f"safetensors: metadata must map str to str, got {k!r}: {type(v)}")
    header = {}
    if metadata:
        header["__metadata__"] = dict(sorted(metadata.items()))
    blobs = []
    offset = 0
    for name in sorted(tensors):
        if name == "__metadata__":
            raise ValueError("safetensors: '__metadata__' is reserved and cannot name a tensor")
        arr = np.asarray(tensors[name])
        dtype_name = _dtype_name(arr)
        data = np.ascontiguousarray(arr, dtype=_DTYPES[dtype_name]).tobytes(order="C")
        header[name] = {"dtype": dtype_name, "shape": [int(s) for s in arr.shape],
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    head += b" " * ((-len(head)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for data in blobs:
            f.write(data)


def read(path):
    """Returns ({name: numpy array}, {str: str} metadata) read from path."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"safetensors: {path}: expected at least 8 bytes, got {len(raw)}")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > _MAX_HEADER or 8 + n > len(raw):
        raise ValueError(f"safetensors: {path}: header length {n} does not fit a {len(raw)}-byte file")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError(f"safetensors: {path}: header must be a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    data = memoryview(raw)[8 + n:]
    tensors = {}
    spans = []
    for name, info in header.items():
        dtype_name = info.get("dtype")
        if dtype_name not in _DTYPES:
            raise ValueError(f"safetensors: {path}: tensor {name!r} has unsupported dtype {dtype_name!r}")
        dtype = _DTYPES[dtype_name]
        shape = tuple(int(s) for s in info["shape"])
        begin, end = (int(o) for o in info["data_offsets"])
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if end - begin != count * dtype.itemsize or begin < 0 or end > len(data):
            raise ValueError(f"safetensors: {path}: tensor {name!r} {dtype_name}{list(shape)} expects "
                             f"{count * dtype.itemsize} bytes, offsets [{begin}, {end}) of {len(data)}")
        arr = np.frombuffer(data[begin:end], dtype=dtype).reshape(shape).copy()
        tensors[name] = arr.astype(dtype.newbyteorder("="), copy=False)
        spans.append((begin, end, name))
    pos = 0
    for begin, end, name in sorted(spans):
        if begin != pos:
            raise ValueError(f"safetensors: {path}: tensor {name!r} starts at {begin}, expected {pos} "
                             f"(gap or overlap in the data section)")
        pos = end
    if pos != len(data):
        raise ValueError(f"safetensors: {path}: data section has {len(data)} bytes, tensors cover {pos}")
    return tensors, dict(metadata)


def write_checked(path, tensors, metadata=None):
    """write(), then read the file back and check that every tensor and the metadata survived
    byte for byte (the fixture generators' last step)."""
    write(path, tensors, metadata)
    back, meta_back = read(path)
    assert meta_back == (metadata or {}), path
    assert sorted(back) == sorted(tensors), path
    for k, v in tensors.items():
        assert back[k].dtype == v.dtype and back[k].tobytes() == v.tobytes(), (path, k)
