from mmseg.registry import DATASETS

from .voc_wsss import WSSSVOCDataset
from .wsss_base import voc_palette

# Must equal tools/dataset_converters/make_toy_voc.py::TOY_CLASSES (tools/ is not part of the installed
# package, so the tuple is repeated here; tests/test_datasets checks that both agree).
TOY_CLASSES = ('background', 'disc', 'square', 'triangle', 'diamond', 'cross')


@DATASETS.register_module()
class ToyWSSSDataset(WSSSVOCDataset):
    """The synthetic toy data set of ``tools/dataset_converters/make_toy_voc.py`` (VOC layout, 5 classes +
    background, VOC palette). Same behaviour and arguments as :class:`WSSSVOCDataset`."""
    METAINFO = dict(classes=TOY_CLASSES, palette=voc_palette(len(TOY_CLASSES)))
