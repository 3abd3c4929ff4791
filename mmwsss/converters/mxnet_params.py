"""Numpy-only reader and writer for MXNet ``.params`` files (``mx.nd.save`` / ``mx.nd.load``).

No MXNet is needed. The byte layout (all little-endian) is::

    uint64 0x112 (list magic) | uint64 0 (reserved)
    uint64 N, then N array records
    uint64 M, then M names (uint64 byte length + UTF-8 bytes); M is N (or 0 for an unnamed list)

    array record, by its leading uint32 ``magic``:
      V1 0xF993FAC8: shape
      V2 0xF993FAC9: int32 storage type (0 = dense), shape
      V3 0xF993FACA: as V2, written in MXNet's "np shape" mode
      V0 (legacy, pre-1.0): any other value; it *is* ndim and ndim uint32 dims follow
      shape (V1-V3) := int32 ndim, ndim x int64 dims
      empty ("none") array: V0-V2 ndim == 0 (V1/V2 also ndim == -1); V3 ndim == -1 or a dim == -1.
        The record ends after the shape. (In V3, ndim == 0 is a scalar holding one element.)
      otherwise: int32 dev_type, int32 dev_id (context, ignored), int32 dtype flag,
        prod(shape) x itemsize bytes of C-order data

dtype flags: 0 float32, 1 float64, 2 float16, 3 uint8, 4 int32, 5 int8, 6 int64.

Names in ResNet-38 / VGG16 weight files look like ``arg:conv1a_weight`` or ``aux:bn7_moving_mean``; they are
returned as stored. Sparse storage types (row_sparse, csr) never occur in weight files and are rejected.
"""
import struct
from collections import OrderedDict
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

from mmwsss.utils.io import atomic_write_bytes

__all__ = [
    'MXNetParamsError', 'LIST_MAGIC', 'ARRAY_MAGIC', 'MXNET_DTYPES', 'load_mxnet_params',
    'parse_mxnet_params', 'save_mxnet_params', 'dump_mxnet_params', 'split_arg_aux'
]

#: first uint64 of every ``mx.nd.save`` file
LIST_MAGIC = 0x112
#: per-array magic numbers by header version (version 0 = legacy, has no magic)
ARRAY_MAGIC = {1: 0xF993FAC8, 2: 0xF993FAC9, 3: 0xF993FACA}
_MAGIC_TO_VERSION = {v: k for k, v in ARRAY_MAGIC.items()}
#: MXNet (mshadow) dtype flag -> little-endian numpy dtype
MXNET_DTYPES = {
    0: np.dtype('<f4'),
    1: np.dtype('<f8'),
    2: np.dtype('<f2'),
    3: np.dtype('u1'),
    4: np.dtype('<i4'),
    5: np.dtype('i1'),
    6: np.dtype('<i8'),
}
_DTYPE_TO_FLAG = {dt.newbyteorder('=') if dt.itemsize > 1 else dt: flag for flag, dt in MXNET_DTYPES.items()}
# a legacy record starts with ndim itself; anything larger than this cannot be a real ndim
_MAX_LEGACY_NDIM = 32
# context written by the writer: cpu(0)
_CPU = (1, 0)


class MXNetParamsError(ValueError):
    """A ``.params`` file is malformed; the message names the file, the position and the problem."""


class _Reader:
    """Cursor over the bytes of one file that raises :class:`MXNetParamsError` naming the file."""

    def __init__(self, data: bytes, filename: str) -> None:
        self.data = memoryview(data)
        self.pos = 0
        self.filename = filename

    def fail(self, what: str) -> 'MXNetParamsError':
        return MXNetParamsError(f'{self.filename}: {what} (at byte {self.pos} of {len(self.data)})')

    def take(self, nbytes: int, what: str) -> memoryview:
        if nbytes < 0 or self.pos + nbytes > len(self.data):
            raise self.fail(f'truncated file: {what} needs {nbytes} bytes, '
                            f'{len(self.data) - self.pos} left')
        chunk = self.data[self.pos:self.pos + nbytes]
        self.pos += nbytes
        return chunk

    def unpack(self, fmt: str, what: str) -> Tuple:
        return struct.unpack('<' + fmt, self.take(struct.calcsize('<' + fmt), what))


def _read_shape(r: _Reader, version: int, first: int, what: str) -> Optional[Tuple[int, ...]]:
    """Read a shape; ``None`` means an empty ("none") array whose record ends here."""
    if version == 0:
        ndim = first  # the legacy record's leading uint32 is ndim
        dims = r.unpack(f'{ndim}I', f'{what} legacy dims') if ndim else ()
        return None if ndim == 0 else tuple(dims)
    (ndim, ) = r.unpack('i', f'{what} ndim')
    if ndim == -1 or (ndim == 0 and version < 3):
        return None
    if ndim < 0 or ndim > _MAX_LEGACY_NDIM:
        raise r.fail(f'{what}: invalid ndim {ndim}')
    dims = r.unpack(f'{ndim}q', f'{what} dims') if ndim else ()
    if any(d == -1 for d in dims) and version == 3:
        return None  # unknown dimension in np-shape mode = none array
    if any(d < 0 for d in dims):
        raise r.fail(f'{what}: negative dimension in shape {dims}')
    return tuple(dims)


def _read_array(r: _Reader, index: int) -> np.ndarray:
    what = f'array #{index}'
    (magic, ) = r.unpack('I', f'{what} magic')
    version = _MAGIC_TO_VERSION.get(magic, 0)
    if version == 0 and magic > _MAX_LEGACY_NDIM:
        raise r.fail(f'{what}: unknown array magic 0x{magic:08X} (not V1 0xF993FAC8, V2 0xF993FAC9, '
                     f'V3 0xF993FACA, nor a legacy ndim <= {_MAX_LEGACY_NDIM})')
    if version >= 2:
        (stype, ) = r.unpack('i', f'{what} storage type')
        if stype != 0:
            kind = {1: 'row_sparse', 2: 'csr'}.get(stype, 'unknown')
            raise r.fail(f'{what}: storage type {stype} ({kind}) is not supported; '
                         'only dense arrays can be read')
    shape = _read_shape(r, version, magic, what)
    if shape is None:
        return np.empty((0, ), dtype=np.float32)
    r.unpack('ii', f'{what} context')
    (flag, ) = r.unpack('i', f'{what} dtype flag')
    if flag not in MXNET_DTYPES:
        raise r.fail(f'{what}: unknown dtype flag {flag} (known: {sorted(MXNET_DTYPES)})')
    dtype = MXNET_DTYPES[flag]
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    raw = r.take(count * dtype.itemsize, f'{what} data {shape} {dtype.name}')
    arr = np.frombuffer(raw, dtype=dtype, count=count).reshape(shape)
    return arr.astype(dtype.newbyteorder('='), copy=True)


def parse_mxnet_params(data: bytes,
                       filename: str = '<bytes>',
                       allow_trailing: bool = False) -> 'OrderedDict[str, np.ndarray]':
    """Parse the bytes of a ``.params`` file into ``{name: array}`` (file order, names as stored).

    Empty ("none") arrays come back as float32 arrays of shape (0,). Raises :class:`MXNetParamsError`
    (naming ``filename``) on a wrong list magic, truncation anywhere, an unknown array magic or dtype,
    sparse storage, a name count that does not match, invalid UTF-8, duplicate names and (unless
    ``allow_trailing``) bytes after the name list.
    """
    r = _Reader(data, filename)
    if len(data) < 16:
        raise r.fail('truncated file: shorter than the 16-byte header')
    magic, _reserved = r.unpack('QQ', 'header')
    if magic != LIST_MAGIC:
        raise MXNetParamsError(f'{filename}: not an MXNet NDArray list file: list magic is 0x{magic:X}, '
                               f'expected 0x{LIST_MAGIC:X}')
    (num_arrays, ) = r.unpack('Q', 'array count')
    arrays = [_read_array(r, i) for i in range(num_arrays)]
    (num_names, ) = r.unpack('Q', 'name count')
    if num_names != num_arrays:
        if num_names == 0:
            raise r.fail(f'the file holds an unnamed list of {num_arrays} arrays; a .params file needs names')
        raise r.fail(f'name count {num_names} does not match array count {num_arrays}')
    out: 'OrderedDict[str, np.ndarray]' = OrderedDict()
    for i in range(num_names):
        (length, ) = r.unpack('Q', f'name #{i} length')
        raw = r.take(length, f'name #{i}')
        try:
            name = bytes(raw).decode('utf-8')
        except UnicodeDecodeError as e:
            raise r.fail(f'name #{i} is not valid UTF-8 ({e})') from None
        if name in out:
            raise r.fail(f'duplicate name {name!r}')
        out[name] = arrays[i]
    if r.pos != len(data) and not allow_trailing:
        raise r.fail(f'{len(data) - r.pos} unexpected trailing bytes after the name list')
    return out


def load_mxnet_params(path: str, allow_trailing: bool = False) -> 'OrderedDict[str, np.ndarray]':
    """Read an MXNet ``.params`` file (header versions V0-V3) into ``{name: array}``.

    Keys are as stored (``'arg:conv1a_weight'``, ``'aux:bn7_moving_var'``); arrays are native-endian
    copies. See :func:`parse_mxnet_params` for the errors raised.
    """
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as e:
        raise MXNetParamsError(f'{path}: cannot read the file ({e})') from e
    return parse_mxnet_params(data, filename=str(path), allow_trailing=allow_trailing)


def _dtype_flag(arr: np.ndarray, name: str) -> int:
    dt = arr.dtype.newbyteorder('=') if arr.dtype.itemsize > 1 else arr.dtype
    if dt not in _DTYPE_TO_FLAG:
        raise ValueError(f'{name}: dtype {arr.dtype} has no MXNet dtype flag '
                         f'(supported: {[str(d) for d in MXNET_DTYPES.values()]})')
    return _DTYPE_TO_FLAG[dt]


def _dump_array(arr: Optional[np.ndarray], version: int, name: str,
                context: Sequence[int]) -> bytes:
    parts = []
    if version > 0:
        parts.append(struct.pack('<I', ARRAY_MAGIC[version]))
    if version >= 2:
        parts.append(struct.pack('<i', 0))  # dense storage
    if arr is None:  # a "none" array: the record ends after the shape
        if version == 0:
            parts.append(struct.pack('<I', 0))
        else:
            parts.append(struct.pack('<i', -1 if version == 3 else 0))
        return b''.join(parts)
    arr = np.asarray(arr)
    if arr.ndim == 0 and version < 3:
        raise ValueError(f'{name}: a 0-d array cannot be stored in header version {version} '
                         '(ndim 0 means an empty array there); use version 3')
    if version == 0:
        if any(d > 0xFFFFFFFF for d in arr.shape):
            raise ValueError(f'{name}: dimension too large for the legacy uint32 shape')
        parts.append(struct.pack(f'<I{arr.ndim}I', arr.ndim, *arr.shape))
    else:
        parts.append(struct.pack(f'<i{arr.ndim}q', arr.ndim, *arr.shape))
    flag = _dtype_flag(arr, name)
    parts.append(struct.pack('<iii', int(context[0]), int(context[1]), flag))
    parts.append(np.ascontiguousarray(arr, dtype=MXNET_DTYPES[flag]).tobytes(order='C'))
    return b''.join(parts)


def dump_mxnet_params(arrays: Mapping[str, Optional[np.ndarray]],
                      version: int = 2,
                      context: Sequence[int] = _CPU) -> bytes:
    """Serialise ``{name: array}`` in the ``mx.nd.save`` layout with the given array header version.

    ``version`` 0 (legacy), 1, 2 (what MXNet 1.x writes) or 3 (np-shape mode). A value of ``None``
    writes an empty ("none") array. ``context`` is the (dev_type, dev_id) stored with each array.
    """
    if version not in (0, 1, 2, 3):
        raise ValueError(f'unknown .params header version {version}; use 0, 1, 2 or 3')
    parts = [struct.pack('<QQQ', LIST_MAGIC, 0, len(arrays))]
    for name, arr in arrays.items():
        parts.append(_dump_array(arr, version, name, context))
    parts.append(struct.pack('<Q', len(arrays)))
    for name in arrays:
        raw = name.encode('utf-8')
        parts.append(struct.pack('<Q', len(raw)) + raw)
    return b''.join(parts)


def save_mxnet_params(path: str,
                      arrays: Mapping[str, Optional[np.ndarray]],
                      version: int = 2,
                      context: Sequence[int] = _CPU) -> None:
    """Write ``arrays`` as an MXNet ``.params`` file (atomically); see :func:`dump_mxnet_params`."""
    atomic_write_bytes(path, dump_mxnet_params(arrays, version=version, context=context))


def split_arg_aux(params: Mapping[str, np.ndarray]) -> Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]:
    """Split ``{'arg:x': .., 'aux:y': ..}`` into (arg dict, aux dict) with the 4-character prefix removed.

    Names without an ``arg:``/``aux:`` prefix go to the arg dict unchanged.
    """
    arg, aux = {}, {}
    for name, arr in params.items():
        if name.startswith('aux:'):
            aux[name[4:]] = arr
        elif name.startswith('arg:'):
            arg[name[4:]] = arr
        else:
            arg[name] = arr
    return arg, aux
