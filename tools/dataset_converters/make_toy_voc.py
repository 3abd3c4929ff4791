"""Generate the synthetic toy WSSS data set (VOC layout) that the demo and the tests use.

    python tools/dataset_converters/make_toy_voc.py data/toy_voc --num-images 240 --size 96 --seed 0

Every image holds 1-3 textured shapes on a textured background. Each class has its own shape, colour and
texture, so image-level labels are learnable and class activation maps can localise the objects; about a
third of the images contain two classes. Written tree (the layout of VOC 2012 + SBD)::

    JPEGImages/<id>.jpg
    SegmentationClass/<id>.png      palette PNG, 0 = background, 1..C = classes, 255 = object borders
    SegmentationClassAug/<id>.png   same masks (as SBD's, for every id)
    Annotations/<id>.xml            VOC XML with one <object> per shape
    ImageSets/Segmentation/{train_aug,train,val}.txt
    cls_labels.npy                  psa-style dict {id: float32 multi-hot over the C classes}
    classes.txt                     the class names, background first

Deterministic: the same seed and arguments give byte-identical files.
"""
import argparse
import os
import os.path as osp
import time
from typing import Dict, List, Sequence, Tuple
from xml.sax.saxutils import escape

import numpy as np
from PIL import Image

from mmwsss.visualization.palette import voc_palette

TOY_CLASSES: Tuple[str, ...] = ('background', 'disc', 'square', 'triangle', 'diamond', 'cross')

# per class: RGB base colour, texture kind, texture period (pixels)
_CLASS_STYLE: Dict[str, Tuple[Tuple[int, int, int], str, int]] = {
    'disc': ((220, 40, 40), 'hstripes', 6),
    'square': ((40, 180, 60), 'checker', 8),
    'triangle': ((40, 70, 220), 'vstripes', 5),
    'diamond': ((230, 200, 40), 'dots', 6),
    'cross': ((170, 50, 200), 'dstripes', 7),
}


def _shape_mask(kind: str, h: int, w: int, cy: float, cx: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dy, dx = yy - cy, xx - cx
    if kind == 'disc':
        return dy ** 2 + dx ** 2 <= r ** 2
    if kind == 'square':
        return (np.abs(dy) <= r * 0.85) & (np.abs(dx) <= r * 0.85)
    if kind == 'triangle':
        # apex up: inside when below the two slanted edges and above the base
        return (dy <= r * 0.8) & (dy >= -r) & (np.abs(dx) <= (dy + r) * 0.6)
    if kind == 'diamond':
        return np.abs(dy) + np.abs(dx) <= r
    if kind == 'cross':
        arm = r * 0.35
        return ((np.abs(dy) <= arm) & (np.abs(dx) <= r)) | ((np.abs(dx) <= arm) & (np.abs(dy) <= r))
    raise ValueError(f'unknown shape {kind}')


def _texture(kind: str, period: int, h: int, w: int, phase: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    if kind == 'hstripes':
        t = ((yy + phase) // (period // 2)) % 2
    elif kind == 'vstripes':
        t = ((xx + phase) // (period // 2)) % 2
    elif kind == 'checker':
        t = (((yy + phase) // (period // 2)) + ((xx + phase) // (period // 2))) % 2
    elif kind == 'dstripes':
        t = ((yy + xx + phase) // (period // 2)) % 2
    elif kind == 'dots':
        t = (((yy + phase) % period) < period // 2) & (((xx + phase) % period) < period // 2)
    else:
        raise ValueError(f'unknown texture {kind}')
    return t.astype(np.float32)


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Low-saturation background: a grey level with a slight tint, a smooth brightness gradient and noise.

    Kept greyish so that colour separates objects from background, as in photos where objects are salient.
    """
    base = rng.uniform(80, 170) + rng.uniform(-10, 10, size=3)
    gy = np.linspace(-1, 1, h)[:, None, None] * rng.uniform(-20, 20)
    gx = np.linspace(-1, 1, w)[None, :, None] * rng.uniform(-20, 20)
    noise = rng.normal(0, 8, size=(h, w, 3))
    return base + gy + gx + noise


def _borders(label: np.ndarray, width: int = 1) -> np.ndarray:
    """Pixels whose (2*width+1)^2 neighbourhood holds more than one label value."""
    h, w = label.shape
    pad = np.pad(label, width, mode='edge')
    border = np.zeros((h, w), dtype=bool)
    for dy in range(2 * width + 1):
        for dx in range(2 * width + 1):
            border |= pad[dy:dy + h, dx:dx + w] != label
    return border


def render_image(rng: np.random.Generator, size: int, classes: Sequence[str]
                 ) -> Tuple[np.ndarray, np.ndarray, List[Tuple[str, Tuple[int, int, int, int]]]]:
    """Render one image: returns (uint8 HxWx3 RGB, uint8 HxW label map with 255 borders, objects).

    ``objects`` lists (class name, (xmin, ymin, xmax, ymax)) with 1-based VOC box coordinates.
    """
    fg = list(classes[1:])
    h = int(rng.integers(int(size * 0.75), size + 1))
    w = int(rng.integers(int(size * 0.75), size + 1))
    img = _background(rng, h, w)
    label = np.zeros((h, w), dtype=np.uint8)
    n_cls = 2 if rng.random() < 0.35 else 1
    chosen = list(rng.choice(len(fg), size=n_cls, replace=False))
    n_obj = int(rng.integers(n_cls, 4))  # 1..3 objects, at least one per chosen class
    obj_classes = chosen + [chosen[int(rng.integers(0, n_cls))] for _ in range(n_obj - n_cls)]
    objects = []
    for ci in obj_classes:
        name = fg[ci]
        colour, tex, period = _CLASS_STYLE[name]
        r = rng.uniform(0.14, 0.24) * min(h, w)
        cy = rng.uniform(r, h - r)
        cx = rng.uniform(r, w - r)
        mask = _shape_mask(name, h, w, cy, cx, r)
        if not mask.any():
            continue
        t = _texture(tex, period, h, w, int(rng.integers(0, period)))
        shade = np.asarray(colour, dtype=np.float32) * (0.75 + 0.35 * t[..., None])
        shade += rng.normal(0, 6, size=shade.shape)
        img[mask] = shade[mask]
        label[mask] = ci + 1
        ys, xs = np.nonzero(mask)
        objects.append((name, (int(xs.min()) + 1, int(ys.min()) + 1, int(xs.max()) + 1, int(ys.max()) + 1)))
    # keep only objects that remain visible after occlusion
    visible = set(np.unique(label).tolist()) - {0}
    objects = [o for o in objects if classes.index(o[0]) in visible]
    label_b = label.copy()
    label_b[_borders(label)] = 255
    return np.clip(img, 0, 255).astype(np.uint8), label_b, objects


def _annotation_xml(name: str, h: int, w: int, objects) -> str:
    parts = [f'<annotation>\n  <folder>VOC2012</folder>\n  <filename>{escape(name)}.jpg</filename>\n',
             f'  <size>\n    <width>{w}</width>\n    <height>{h}</height>\n    <depth>3</depth>\n  </size>\n',
             '  <segmented>1</segmented>\n']
    for cls, (x0, y0, x1, y1) in objects:
        parts.append(f'  <object>\n    <name>{escape(cls)}</name>\n    <pose>Unspecified</pose>\n'
                     f'    <truncated>0</truncated>\n    <difficult>0</difficult>\n'
                     f'    <bndbox>\n      <xmin>{x0}</xmin>\n      <ymin>{y0}</ymin>\n'
                     f'      <xmax>{x1}</xmax>\n      <ymax>{y1}</ymax>\n    </bndbox>\n  </object>\n')
    parts.append('</annotation>\n')
    return ''.join(parts)


def _write_atomic(path: str, write) -> None:
    tmp = path + '.tmp'
    write(tmp)
    os.replace(tmp, path)


def _text_writer(text: str):
    def write(path: str) -> None:
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)
    return write


def make_toy_voc(out_dir: str,
                 num_images: int = 240,
                 size: int = 96,
                 seed: int = 0,
                 val_fraction: float = 0.2,
                 classes: Sequence[str] = TOY_CLASSES) -> Dict[str, List[str]]:
    """Write the toy data set to ``out_dir`` and return the splits ``{split: [ids]}``.

    ``train_aug`` holds ``1 - val_fraction`` of the images, ``train`` is the first half of ``train_aug``
    (as VOC's train is a subset of train_aug) and ``val`` the rest. Existing files are overwritten.
    """
    if num_images < 5:
        raise ValueError(f'num_images must be at least 5, got {num_images}')
    if size < 32:
        raise ValueError(f'size must be at least 32 pixels, got {size}')
    unknown = [c for c in classes[1:] if c not in _CLASS_STYLE]
    if classes[0] != 'background' or unknown:
        raise ValueError(f"classes must start with 'background' and use toy shapes "
                         f'{sorted(_CLASS_STYLE)}; unknown: {unknown}')
    dirs = {k: osp.join(out_dir, k) for k in
            ('JPEGImages', 'SegmentationClass', 'SegmentationClassAug', 'Annotations', 'ImageSets/Segmentation')}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    palette = voc_palette()
    rng = np.random.default_rng(seed)
    ids = [f'toy_{i:06d}' for i in range(num_images)]
    cls_labels = {}
    for name in ids:
        img, label, objects = render_image(rng, size, classes)
        h, w = label.shape
        _write_atomic(osp.join(dirs['JPEGImages'], name + '.jpg'),
                      lambda p: Image.fromarray(img).save(p, format='JPEG', quality=95))
        png = Image.fromarray(label, mode='P')
        png.putpalette(palette)
        for key in ('SegmentationClass', 'SegmentationClassAug'):
            _write_atomic(osp.join(dirs[key], name + '.png'), lambda p: png.save(p, format='PNG'))
        xml = _annotation_xml(name, h, w, objects)
        _write_atomic(osp.join(dirs['Annotations'], name + '.xml'), _text_writer(xml))
        vec = np.zeros(len(classes) - 1, dtype=np.float32)
        for cls, _ in objects:
            vec[classes.index(cls) - 1] = 1
        cls_labels[name] = vec
    n_val = max(1, int(round(num_images * val_fraction)))
    train_aug = ids[:num_images - n_val]
    splits = {'train_aug': train_aug, 'train': train_aug[:max(1, len(train_aug) // 2)],
              'val': ids[num_images - n_val:]}
    for split, names in splits.items():
        _write_atomic(osp.join(dirs['ImageSets/Segmentation'], split + '.txt'),
                      _text_writer('\n'.join(names) + '\n'))

    def save_labels(path: str) -> None:
        with open(path, 'wb') as f:
            np.save(f, cls_labels, allow_pickle=True)

    _write_atomic(osp.join(out_dir, 'cls_labels.npy'), save_labels)
    _write_atomic(osp.join(out_dir, 'classes.txt'), _text_writer('\n'.join(classes) + '\n'))
    return splits


def parse_args():
    parser = argparse.ArgumentParser(description='Generate the synthetic toy WSSS data set (VOC layout)')
    parser.add_argument('out_dir', nargs='?', default='data/toy_voc', help='output folder')
    parser.add_argument('--num-images', type=int, default=240)
    parser.add_argument('--size', type=int, default=96, help='longest image side in pixels')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--val-fraction', type=float, default=0.2)
    return parser.parse_args()


def main():
    args = parse_args()
    t0 = time.time()
    splits = make_toy_voc(args.out_dir, args.num_images, args.size, args.seed, args.val_fraction)
    print(f'toy data set written to {args.out_dir} in {time.time() - t0:.1f}s: ' +
          ', '.join(f'{k} {len(v)}' for k, v in splits.items()))


if __name__ == '__main__':
    main()
