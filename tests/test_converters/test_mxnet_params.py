"""MXNet ``.params`` reader/writer: files assembled by hand with ``struct`` (independently of the writer) and
round trips through the writer for every header version and dtype; malformed files must raise naming the file."""
import os.path as osp
import struct

import numpy as np
import pytest

from mmwsss.converters.mxnet_params import (MXNetParamsError, dump_mxnet_params, load_mxnet_params,
                                            parse_mxnet_params, save_mxnet_params, split_arg_aux)

V1, V2, V3 = 0xF993FAC8, 0xF993FAC9, 0xF993FACA


def _names(*names):
    out = struct.pack('<Q', len(names))
    for n in names:
        out += struct.pack('<Q', len(n)) + n.encode()
    return out


def _hand_v2_file():
    """Two arrays in the V2 layout of icd.md §7.2, written field by field."""
    w = np.arange(6, dtype='<f4').reshape(2, 3) / 4
    m = np.array([-5, 0, 2**40], dtype='<i8')
    data = struct.pack('<QQ', 0x112, 0) + struct.pack('<Q', 2)
    # array 0: magic, stype 0, ndim 2, dims (int64), ctx cpu(0), dtype flag 0 (float32), data
    data += struct.pack('<Ii', V2, 0) + struct.pack('<i', 2) + struct.pack('<qq', 2, 3)
    data += struct.pack('<ii', 1, 0) + struct.pack('<i', 0) + w.tobytes()
    # array 1: int64 (flag 6)
    data += struct.pack('<Ii', V2, 0) + struct.pack('<i', 1) + struct.pack('<q', 3)
    data += struct.pack('<ii', 1, 0) + struct.pack('<i', 6) + m.tobytes()
    data += _names('arg:conv1a_weight', 'aux:bn7_moving_mean')
    return data, w, m


def test_hand_assembled_v2_file_reads_and_writer_matches_bytes(tmp_path):
    data, w, m = _hand_v2_file()
    path = tmp_path / 'hand_v2.params'
    path.write_bytes(data)
    out = load_mxnet_params(str(path))
    assert list(out) == ['arg:conv1a_weight', 'aux:bn7_moving_mean']
    assert out['arg:conv1a_weight'].dtype == np.float32 and out['arg:conv1a_weight'].shape == (2, 3)
    np.testing.assert_array_equal(out['arg:conv1a_weight'], [[0, .25, .5], [.75, 1, 1.25]])
    assert out['aux:bn7_moving_mean'].dtype == np.int64
    assert out['aux:bn7_moving_mean'].tolist() == [-5, 0, 2**40]
    # the writer must produce exactly the hand-made bytes (what mx.nd.save writes with context cpu(0))
    assert dump_mxnet_params({'arg:conv1a_weight': w, 'aux:bn7_moving_mean': m}, version=2) == data


def test_hand_assembled_legacy_v0_and_v1_files():
    a = np.array([[1.5, -2.0]], dtype='<f8')
    b = np.array([7, 8, 9], dtype='u1')
    # V0: the leading uint32 is ndim, dims are uint32
    v0 = struct.pack('<QQQ', 0x112, 0, 2)
    v0 += struct.pack('<III', 2, 1, 2) + struct.pack('<iii', 1, 0, 1) + a.tobytes()
    v0 += struct.pack('<II', 1, 3) + struct.pack('<iii', 1, 0, 3) + b.tobytes()
    v0 += _names('arg:x_weight', 'arg:y')
    # V1: magic, then int32 ndim + int64 dims, no storage type
    v1 = struct.pack('<QQQ', 0x112, 0, 2)
    v1 += struct.pack('<Ii', V1, 2) + struct.pack('<qq', 1, 2) + struct.pack('<iii', 1, 0, 1) + a.tobytes()
    v1 += struct.pack('<Ii', V1, 1) + struct.pack('<q', 3) + struct.pack('<iii', 1, 0, 3) + b.tobytes()
    v1 += _names('arg:x_weight', 'arg:y')
    for name, data in (('v0', v0), ('v1', v1)):
        out = parse_mxnet_params(data, filename=name)
        np.testing.assert_array_equal(out['arg:x_weight'], [[1.5, -2.0]])
        assert out['arg:x_weight'].dtype == np.float64
        assert out['arg:y'].tolist() == [7, 8, 9] and out['arg:y'].dtype == np.uint8
    assert dump_mxnet_params({'arg:x_weight': a, 'arg:y': b}, version=0) == v0
    assert dump_mxnet_params({'arg:x_weight': a, 'arg:y': b}, version=1) == v1


def test_context_is_ignored():
    # an array saved from gpu(1): dev_type 2, dev_id 1
    data = struct.pack('<QQQ', 0x112, 0, 1) + struct.pack('<Iii', V2, 0, 1) + struct.pack('<q', 2)
    data += struct.pack('<iii', 2, 1, 4) + struct.pack('<ii', 3, -4) + _names('g')
    assert parse_mxnet_params(data)['g'].tolist() == [3, -4]
    assert dump_mxnet_params({'g': np.array([3, -4], np.int32)}, context=(2, 1)) == data


def test_hand_assembled_v3_scalar_and_none_arrays():
    # V3 (np-shape mode): ndim 0 is a scalar holding one element, ndim -1 an empty ("none") array
    data = struct.pack('<QQQ', 0x112, 0, 3)
    data += struct.pack('<Iii', V3, 0, 0) + struct.pack('<iii', 1, 0, 4) + struct.pack('<i', -42)
    data += struct.pack('<Iii', V3, 0, -1)
    data += struct.pack('<Iii', V3, 0, 1) + struct.pack('<q', 2) + struct.pack('<iii', 1, 0, 2) \
        + np.array([0.5, -1], '<f2').tobytes()
    data += _names('s', 'none', 'h')
    out = parse_mxnet_params(data)
    assert out['s'].shape == () and out['s'].dtype == np.int32 and int(out['s']) == -42
    assert out['none'].size == 0
    assert out['h'].dtype == np.float16 and out['h'].tolist() == [0.5, -1.0]
    assert dump_mxnet_params({'s': np.array(-42, np.int32), 'none': None, 'h': np.array([.5, -1], np.float16)},
                             version=3) == data


def test_v2_ndim_zero_is_an_empty_array():
    data = struct.pack('<QQQ', 0x112, 0, 1) + struct.pack('<Iii', V2, 0, 0) + _names('e')
    assert parse_mxnet_params(data)['e'].size == 0


@pytest.mark.parametrize('version', [0, 1, 2, 3])
def test_round_trip_every_version_and_dtype(tmp_path, version):
    rng = np.random.default_rng(version)
    arrays = {
        'arg:f32': rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
        'arg:f64': rng.standard_normal((5, )).astype(np.float64),
        'arg:f16': rng.standard_normal((2, 7)).astype(np.float16),
        'aux:u8': rng.integers(0, 256, (3, 2), dtype=np.uint8),
        'aux:i32': rng.integers(-2**31, 2**31, (6, ), dtype=np.int32),
        'aux:i8': rng.integers(-128, 128, (1, 1, 4), dtype=np.int8),
        'aux:i64': rng.integers(-2**62, 2**62, (2, 2), dtype=np.int64),
        'arg:zero_size': np.zeros((0, 3), np.float32),
    }
    path = str(tmp_path / f'rt_v{version}.params')
    save_mxnet_params(path, arrays, version=version)
    # the array magic of the first record identifies the version
    with open(path, 'rb') as f:
        first = struct.unpack('<I', f.read(28)[24:28])[0]
    assert first == {0: 4, 1: V1, 2: V2, 3: V3}[version]  # V0: the ndim (4) of the first array
    out = load_mxnet_params(path)
    assert list(out) == list(arrays)
    for k, v in arrays.items():
        assert out[k].dtype == v.dtype, k
        assert out[k].shape == v.shape, k
        np.testing.assert_array_equal(out[k], v, err_msg=k)


def test_writer_rejects_unsupported_inputs():
    with pytest.raises(ValueError, match='bool'):
        dump_mxnet_params({'b': np.zeros(2, bool)})
    with pytest.raises(ValueError, match='0-d'):
        dump_mxnet_params({'s': np.array(1.0, np.float32)}, version=2)
    with pytest.raises(ValueError, match='version'):
        dump_mxnet_params({'a': np.zeros(1, np.float32)}, version=4)


def test_big_endian_input_is_written_little_endian():
    a = np.array([1.0, 2.0], dtype='>f4')
    out = parse_mxnet_params(dump_mxnet_params({'a': a}))
    assert out['a'].tolist() == [1.0, 2.0]


# ---------------------------------------------------------------------------------------------- errors
def _small_file():
    return dump_mxnet_params({'arg:a_weight': np.ones((2, 2), np.float32), 'aux:b': np.arange(3)}, version=2)


def test_every_truncation_raises_naming_the_file(tmp_path):
    data = _small_file()
    for cut in range(len(data)):
        with pytest.raises(MXNetParamsError, match='cut.params') as e:
            parse_mxnet_params(data[:cut], filename='cut.params')
        assert 'truncated' in str(e.value), (cut, str(e.value))
    path = tmp_path / 'trunc.params'
    path.write_bytes(data[:-3])
    with pytest.raises(MXNetParamsError, match=r'trunc\.params.*truncated'):
        load_mxnet_params(str(path))


def test_wrong_list_magic(tmp_path):
    path = tmp_path / 'notparams.params'
    path.write_bytes(struct.pack('<QQQ', 0x113, 0, 0) + _names())
    with pytest.raises(MXNetParamsError, match=r'notparams\.params.*list magic is 0x113'):
        load_mxnet_params(str(path))


def test_unknown_array_magic():
    data = struct.pack('<QQQ', 0x112, 0, 1) + struct.pack('<Ii', 0xF993FACB, 0) + _names('x')
    with pytest.raises(MXNetParamsError, match=r'f\.params.*unknown array magic 0xF993FACB'):
        parse_mxnet_params(data, filename='f.params')


def test_unknown_dtype_flag():
    data = struct.pack('<QQQ', 0x112, 0, 1) + struct.pack('<Iii', V2, 0, 1) + struct.pack('<q', 1)
    data += struct.pack('<iii', 1, 0, 12) + b'\0\0' + _names('x')
    with pytest.raises(MXNetParamsError, match=r'f\.params.*unknown dtype flag 12'):
        parse_mxnet_params(data, filename='f.params')


def test_sparse_storage_is_rejected():
    data = struct.pack('<QQQ', 0x112, 0, 1) + struct.pack('<Ii', V2, 1) + b'\0' * 64
    with pytest.raises(MXNetParamsError, match=r'f\.params.*storage type 1 \(row_sparse\)'):
        parse_mxnet_params(data, filename='f.params')


def test_name_count_mismatch_and_unnamed_list():
    body = struct.pack('<QQQ', 0x112, 0, 1) + struct.pack('<Iii', V2, 0, 1) + struct.pack('<q', 1)
    body += struct.pack('<iii', 1, 0, 0) + struct.pack('<f', 1.0)
    with pytest.raises(MXNetParamsError, match=r'f\.params.*name count 2 does not match array count 1'):
        parse_mxnet_params(body + _names('a', 'b'), filename='f.params')
    with pytest.raises(MXNetParamsError, match=r'f\.params.*unnamed list'):
        parse_mxnet_params(body + _names(), filename='f.params')
    assert parse_mxnet_params(body + _names('a'))['a'].tolist() == [1.0]


def test_trailing_bytes_and_duplicate_names():
    data = _small_file()
    with pytest.raises(MXNetParamsError, match=r'f\.params.*2 unexpected trailing bytes'):
        parse_mxnet_params(data + b'xx', filename='f.params')
    assert list(parse_mxnet_params(data + b'xx', allow_trailing=True)) == ['arg:a_weight', 'aux:b']
    dup = struct.pack('<QQQ', 0x112, 0, 2)
    dup += 2 * (struct.pack('<Iiiq', V2, 0, 1, 1) + struct.pack('<iii', 1, 0, 0) + struct.pack('<f', 0.0))
    dup += _names('a', 'a')
    with pytest.raises(MXNetParamsError, match="duplicate name 'a'"):
        parse_mxnet_params(dup)


def test_missing_file_names_the_path(tmp_path):
    path = osp.join(str(tmp_path), 'nope.params')
    with pytest.raises(MXNetParamsError, match=r'nope\.params: cannot read'):
        load_mxnet_params(path)


def test_split_arg_aux():
    arg, aux = split_arg_aux({'arg:w': 1, 'aux:m': 2, 'plain': 3})
    assert arg == {'w': 1, 'plain': 3} and aux == {'m': 2}
