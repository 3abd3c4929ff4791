import numpy as np
import pytest

from mmwsss.utils import CAMFileError, load_cams, save_cams


def test_round_trip_float16(tmp_path):
    cams = np.stack([np.full((4, 5), 0.25), np.linspace(0, 1, 20).reshape(4, 5)]).astype(np.float32)
    path = str(tmp_path / 'a.npy')
    save_cams(path, cams, [3, 7])
    loaded, ids = load_cams(path, num_classes=21, image_size=(4, 5))
    assert ids.tolist() == [3, 7]
    assert loaded.dtype == np.float32 and loaded.shape == (2, 4, 5)
    # float16 keeps about 3 decimal digits on [0, 1]
    assert np.abs(loaded - cams).max() < 5e-4
    # the stored record is readable by plain numpy without pickle
    rec = np.load(path, allow_pickle=False)[()]
    assert rec['class_ids'].tolist() == [3, 7] and rec['cams'].dtype == np.float16


def test_no_class_file(tmp_path):
    path = str(tmp_path / 'empty.npy')
    save_cams(path, np.zeros((0, 3, 3)), [])
    cams, ids = load_cams(path)
    assert cams.shape == (0, 3, 3) and ids.size == 0


@pytest.mark.parametrize('ids', [[0, 1], [2, 1], [1, 1]])
def test_bad_class_ids_rejected_on_save(tmp_path, ids):
    with pytest.raises(ValueError):
        save_cams(str(tmp_path / 'a.npy'), np.zeros((2, 2, 2)), ids)


def test_errors_name_the_file(tmp_path):
    missing = str(tmp_path / 'missing.npy')
    with pytest.raises(CAMFileError, match='missing.npy'):
        load_cams(missing)
    plain = str(tmp_path / 'plain.npy')
    np.save(plain, np.zeros((2, 3, 3)))
    with pytest.raises(CAMFileError, match='plain.npy.*not an mmwsss CAM file'):
        load_cams(plain)
    good = str(tmp_path / 'good.npy')
    save_cams(good, np.zeros((1, 3, 3)), [20])
    with pytest.raises(CAMFileError, match='good.npy.*outside 1..5'):
        load_cams(good, num_classes=6)
    with pytest.raises(CAMFileError, match='good.npy.*3x3 but the image is 4x3'):
        load_cams(good, image_size=(4, 3))
    truncated = str(tmp_path / 'trunc.npy')
    with open(good, 'rb') as f:
        data = f.read()
    with open(truncated, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(CAMFileError, match='trunc.npy'):
        load_cams(truncated)
