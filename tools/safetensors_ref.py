#!/usr/bin/env python3
"""A small, strict reference reader/writer for the safetensors format, used to test ember's own.

Written from the published format description (github.com/huggingface/safetensors), so that
ember's C++ reader and writer are checked against an independent implementation rather than
against themselves:

    8 bytes    N, the header length, unsigned little-endian
    N bytes    UTF-8 JSON object: name -> {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]}
               plus an optional "__metadata__": {str: str}; may be padded with trailing spaces
    rest       the data section; [b, e) is relative to its start; little-endian, row-major

Only the Python standard library and numpy are used. The reader validates everything the
reference implementation validates (and a little more): header bounds, JSON well-formedness,
known dtypes, element counts times dtype size equal to the byte ranges, ranges contiguous from 0
with no gaps or overlaps, and the last range ending exactly at the end of the file.

Usage:
    python3 tools/safetensors_ref.py dump FILE
    python3 tools/safetensors_ref.py check FILE EXPECTED.json

EXPECTED.json is {name: {"dtype": "F32", "shape": [2], "data": [0.5, -1.25]}, ...} with an
optional "__metadata__": {str: str}. "data" is the flattened row-major values; float values
compare exactly (sign of zero included); "NaN", "Infinity" and "-Infinity" may be given as strings.
"""

import json
import math
import struct
import sys

try:
    import numpy as np
except ImportError:  # Debian's /usr/bin/python3 has numpy; a bare pyenv python may not.
    sys.exit("safetensors_ref.py needs numpy (try /usr/bin/python3)")

# dtype name -> (bytes per element, little-endian numpy dtype it is stored as).
# BF16 and the F8 types have no numpy dtype: they are stored as raw unsigned ints and widened
# to float32 on load.
DTYPES = {
    "BOOL": (1, np.dtype("bool")),
    "U8": (1, np.dtype("u1")),
    "I8": (1, np.dtype("i1")),
    "F8_E5M2": (1, np.dtype("u1")),
    "F8_E4M3": (1, np.dtype("u1")),
    "I16": (2, np.dtype("<i2")),
    "U16": (2, np.dtype("<u2")),
    "F16": (2, np.dtype("<f2")),
    "BF16": (2, np.dtype("<u2")),
    "I32": (4, np.dtype("<i4")),
    "U32": (4, np.dtype("<u4")),
    "F32": (4, np.dtype("<f4")),
    "F64": (8, np.dtype("<f8")),
    "I64": (8, np.dtype("<i8")),
    "U64": (8, np.dtype("<u8")),
}

# (numpy kind, itemsize) -> safetensors name, for save() of plain arrays of any byte order.
NUMPY_TO_NAME = {
    ("b", 1): "BOOL", ("u", 1): "U8", ("i", 1): "I8", ("i", 2): "I16", ("u", 2): "U16",
    ("f", 2): "F16", ("i", 4): "I32", ("u", 4): "U32", ("f", 4): "F32", ("f", 8): "F64",
    ("i", 8): "I64", ("u", 8): "U64",
}

# The reference implementation refuses headers above 100 MB; so do we, before reading them.
MAX_HEADER = 100_000_000


class SafetensorsError(ValueError):
    pass


def bf16_to_f32(raw_u16):
    """BF16 is the top half of an IEEE float32: widen by shifting into the high 16 bits."""
    return (raw_u16.astype("<u4") << 16).view("<f4")


def f32_to_bf16(values):
    """Round float32 to the nearest BF16 (ties to even), keeping NaN a NaN."""
    u = np.asarray(values, dtype="<f4").view("<u4").astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    nan = np.isnan(np.asarray(values, dtype="<f4"))
    rounded = np.where(nan, (u >> 16) | 0x40, rounded)
    return rounded.astype("<u2")


def _f8_table(exp_bits, man_bits, bias, e4m3fn):
    out = np.zeros(256, dtype="<f4")
    for b in range(256):
        sign = -1.0 if b & 0x80 else 1.0
        e = (b >> man_bits) & ((1 << exp_bits) - 1)
        m = b & ((1 << man_bits) - 1)
        if e4m3fn and e == 0xF and m == 0x7:
            v = math.nan  # E4M3FN has no infinities; only S.1111.111 is NaN
        elif not e4m3fn and e == (1 << exp_bits) - 1:
            v = math.inf if m == 0 else math.nan
        elif e == 0:
            v = m / (1 << man_bits) * 2.0 ** (1 - bias)
        else:
            v = (1 + m / (1 << man_bits)) * 2.0 ** (e - bias)
        out[b] = sign * v
    return out


F8_TABLES = {"F8_E4M3": _f8_table(4, 3, 7, True), "F8_E5M2": _f8_table(5, 2, 15, False)}


def _fail(path, msg):
    raise SafetensorsError(f"{path}: {msg}")


def _reject_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


def _no_duplicates(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise ValueError(f"duplicate key {k!r}")
        obj[k] = v
    return obj


def _is_uint(x):
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def read(path):
    """Reads and validates a file. Returns (entries, metadata) where entries is a list of
    (name, dtype_name, shape tuple, numpy array) in data order; BF16/F8 are widened to float32."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        _fail(path, f"file is {len(blob)} bytes, too short for the 8-byte header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > MAX_HEADER:
        _fail(path, f"header length {n} exceeds the {MAX_HEADER}-byte limit")
    if 8 + n > len(blob):
        _fail(path, f"header length {n} runs past the end of the {len(blob)}-byte file")
    try:
        text = blob[8:8 + n].decode("utf-8")
        header = json.loads(text, object_pairs_hook=_no_duplicates,
                            parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as e:
        _fail(path, f"header is not valid UTF-8 JSON: {e}")
    if not isinstance(header, dict):
        _fail(path, "header is not a JSON object")

    metadata = header.pop("__metadata__", None)
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            _fail(path, "__metadata__ must map strings to strings")
    data = memoryview(blob)[8 + n:]

    infos = []
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            _fail(path, f"tensor {name!r}: entry must have exactly dtype, shape, data_offsets")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in DTYPES:
            _fail(path, f"tensor {name!r}: unknown dtype {dtype!r}")
        if not isinstance(shape, list) or not all(_is_uint(d) for d in shape):
            _fail(path, f"tensor {name!r}: shape must be a list of non-negative integers")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(_is_uint(o) for o in offsets)):
            _fail(path, f"tensor {name!r}: data_offsets must be two non-negative integers")
        begin, end = offsets
        if end < begin:
            _fail(path, f"tensor {name!r}: data_offsets [{begin}, {end}] end before they begin")
        nbytes = math.prod(shape) * DTYPES[dtype][0]
        if end - begin != nbytes:
            _fail(path, f"tensor {name!r}: {dtype} {shape} needs {nbytes} bytes, "
                        f"data_offsets [{begin}, {end}] hold {end - begin}")
        infos.append((begin, end, name, dtype, tuple(shape)))

    # Ranges must tile the data section exactly: no gaps, no overlaps, nothing left over.
    infos.sort()
    pos = 0
    for begin, end, name, _, _ in infos:
        if begin != pos:
            what = "overlaps the previous tensor" if begin < pos else "leaves a gap"
            _fail(path, f"tensor {name!r}: data_offsets start at {begin}, expected {pos} ({what})")
        pos = end
    if pos != len(data):
        _fail(path, f"tensors cover {pos} data bytes but the data section has {len(data)} "
                    f"({'truncated file' if pos > len(data) else 'trailing bytes'})")

    entries = []
    for begin, end, name, dtype, shape in infos:
        arr = np.frombuffer(data[begin:end], dtype=DTYPES[dtype][1]).reshape(shape).copy()
        if dtype == "BF16":
            arr = bf16_to_f32(arr)
        elif dtype in F8_TABLES:
            arr = F8_TABLES[dtype][arr]
        entries.append((name, dtype, shape, arr))
    return entries, (metadata or {})


def load(path):
    """Returns ({name: numpy array}, metadata dict). BF16 and F8 tensors come back as float32."""
    entries, metadata = read(path)
    return {name: arr for name, _, _, arr in entries}, metadata


def save(path, tensors, metadata=None):
    """Writes tensors: {name: numpy array} or {name: (dtype_name, array-like)}; the tuple form
    picks the stored dtype explicitly, and is how BF16 is written (values rounded to nearest even).
    Like the reference writer: "__metadata__" first, compact JSON, header padded with spaces to a
    multiple of 8 bytes so the data section is 8-byte aligned. Tensors are laid out in sorted
    name order (the reference writer also groups by dtype; any contiguous order is valid)."""
    header = {}
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise SafetensorsError("metadata must map strings to strings")
        header["__metadata__"] = dict(metadata)
    chunks, pos = [], 0
    for name in sorted(tensors):
        if name == "__metadata__":
            raise SafetensorsError("'__metadata__' is reserved and cannot name a tensor")
        value = tensors[name]
        if isinstance(value, tuple):
            dtype, arr = value
            arr = np.asarray(arr)
        else:
            arr = np.asarray(value)
            dtype = NUMPY_TO_NAME.get((arr.dtype.kind, arr.dtype.itemsize))
            if dtype is None:
                raise SafetensorsError(f"tensor {name!r}: numpy dtype {arr.dtype} has no "
                                       "safetensors equivalent")
        if dtype == "BF16":
            raw = f32_to_bf16(arr.astype("<f4"))
        elif dtype in F8_TABLES:
            raise SafetensorsError(f"tensor {name!r}: writing {dtype} is not supported")
        elif dtype in DTYPES:
            raw = arr.astype(DTYPES[dtype][1])  # also makes the bytes little-endian
        else:
            raise SafetensorsError(f"tensor {name!r}: unknown dtype {dtype!r}")
        raw = np.ascontiguousarray(raw).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape),
                        "data_offsets": [pos, pos + len(raw)]}
        chunks.append(raw)
        pos += len(raw)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


def to_python(arr):
    """Flattened row-major values as Python floats/ints/bools (float32 widens to double exactly)."""
    flat = np.asarray(arr).reshape(-1)
    if flat.dtype.kind == "f":
        return [float(x) for x in flat]
    if flat.dtype.kind == "b":
        return [bool(x) for x in flat]
    return [int(x) for x in flat]


def _expected_value(v):
    if isinstance(v, str):
        specials = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
        if v not in specials:
            raise SafetensorsError(f"unknown special value {v!r} in expected data")
        return specials[v]
    return v


def same_value(actual, expected):
    """Exact equality: same type family, same value, same sign of zero, NaN matches NaN."""
    expected = _expected_value(expected)
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if isinstance(actual, float):
        expected = float(expected)
        if math.isnan(actual) or math.isnan(expected):
            return math.isnan(actual) and math.isnan(expected)
        return actual == expected and math.copysign(1, actual) == math.copysign(1, expected)
    return isinstance(expected, int) and actual == expected


def compare(path, expected):
    """Compares a file to an expected description; returns a list of mismatch messages."""
    entries, metadata = read(path)
    errors = []
    expected = dict(expected)
    if "__metadata__" in expected:
        want = expected.pop("__metadata__")
        if metadata != want:
            errors.append(f"__metadata__: got {metadata!r}, expected {want!r}")
    got = {name: (dtype, shape, arr) for name, dtype, shape, arr in entries}
    for name in sorted(set(got) - set(expected)):
        errors.append(f"unexpected tensor {name!r}")
    for name in sorted(set(expected) - set(got)):
        errors.append(f"missing tensor {name!r}")
    for name in sorted(set(got) & set(expected)):
        dtype, shape, arr = got[name]
        want = expected[name]
        if dtype != want["dtype"]:
            errors.append(f"{name}: dtype {dtype}, expected {want['dtype']}")
        if list(shape) != list(want["shape"]):
            errors.append(f"{name}: shape {list(shape)}, expected {want['shape']}")
            continue
        values = to_python(arr)
        if len(values) != len(want["data"]):
            errors.append(f"{name}: {len(values)} values, expected {len(want['data'])}")
            continue
        for i, (a, e) in enumerate(zip(values, want["data"])):
            if not same_value(a, e):
                errors.append(f"{name}[{i}] (flat): got {a!r}, expected {e!r}")
    return errors


def main(argv):
    if len(argv) == 3 and argv[1] == "dump":
        entries, metadata = read(argv[2])
        if metadata:
            print("__metadata__", json.dumps(metadata, sort_keys=True, ensure_ascii=False))
        for name, dtype, shape, arr in sorted(entries, key=lambda e: e[0]):
            values = ", ".join(repr(v) for v in to_python(arr))
            print(f"{name} {dtype} {list(shape)} [{values}]")
        return 0
    if len(argv) == 4 and argv[1] == "check":
        with open(argv[3], encoding="utf-8") as f:
            expected = json.load(f)
        errors = compare(argv[2], expected)
        for e in errors:
            print("MISMATCH", e, file=sys.stderr)
        print(f"{argv[2]}: {'OK' if not errors else f'{len(errors)} mismatch(es)'}")
        return 0 if not errors else 1
    print(__doc__.split("Usage:")[1].split("EXPECTED.json is")[0].strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (SafetensorsError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
