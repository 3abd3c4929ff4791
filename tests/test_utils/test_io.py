import os

import numpy as np
import pytest

from mmwsss.utils import atomic_path, atomic_save_npy, atomic_write_bytes


def test_atomic_write_bytes_replaces_file(tmp_path):
    path = tmp_path / 'sub' / 'a.bin'
    atomic_write_bytes(str(path), b'first')
    atomic_write_bytes(str(path), b'second')
    assert path.read_bytes() == b'second'
    assert os.listdir(path.parent) == ['a.bin']  # no temporary left behind


def test_atomic_path_failure_leaves_old_content_and_no_temp(tmp_path):
    path = tmp_path / 'x.npy'
    atomic_save_npy(str(path), np.arange(3))
    with pytest.raises(RuntimeError):
        with atomic_path(str(path)) as tmp:
            with open(tmp, 'wb') as f:
                f.write(b'half-written')
            raise RuntimeError('killed')
    np.testing.assert_array_equal(np.load(path), np.arange(3))
    assert sorted(os.listdir(tmp_path)) == ['x.npy']


def test_atomic_path_keeps_extension(tmp_path):
    with atomic_path(str(tmp_path / 'img.png')) as tmp:
        assert tmp.endswith('.png') and os.path.dirname(tmp) == str(tmp_path)
        open(tmp, 'wb').close()
    assert (tmp_path / 'img.png').exists()


def test_atomic_files_get_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        import importlib

        import mmwsss.utils.io as io_mod
        importlib.reload(io_mod)
        path = tmp_path / 'p.bin'
        io_mod.atomic_write_bytes(str(path), b'x')
        assert (path.stat().st_mode & 0o777) == 0o644
    finally:
        os.umask(old)
