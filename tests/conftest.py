import os.path as osp
import sys

import pytest

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..'))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


@pytest.fixture(scope='session')
def toy_voc_root(tmp_path_factory) -> str:
    """A small toy WSSS data set in VOC layout (40 images, <= 64 px), generated once per test session."""
    from tools.dataset_converters.make_toy_voc import make_toy_voc
    root = str(tmp_path_factory.mktemp('toy_voc'))
    make_toy_voc(root, num_images=40, size=64, seed=0)
    return root
