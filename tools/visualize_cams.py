"""Draw CAM heat-maps (one per present class) and pseudo-mask overlays of a list of images as one PNG grid.

    python tools/visualize_cams.py --img-dir data/toy_voc/JPEGImages --cam-dir work_dirs/cams \\
        --pred-dir work_dirs/pseudo --list data/toy_voc/ImageSets/Segmentation/val.txt --out grid.png

One row per image: the image, the heat-map overlay of each class in its CAM file (``mmwsss`` CAM format,
``mmwsss/utils/cam_io.py``), then the pseudo-mask (``--pred-dir``) and the ground truth (``--gt-dir``) over
the image in VOC colours. The grid is written atomically.
"""
import argparse
import os.path as osp
import sys
from typing import List, Sequence

import numpy as np
from PIL import Image

try:  # run as a script: tools/ is sys.path[0]
    from eval_pseudo import class_names_for, load_label_png, read_list
except ImportError:  # imported as tools.visualize_cams
    from tools.eval_pseudo import class_names_for, load_label_png, read_list


def _fit(tile: np.ndarray, size: int) -> np.ndarray:
    """Down-scale a tile so that its longest side is at most ``size``."""
    h, w = tile.shape[:2]
    scale = size / max(h, w)
    if scale >= 1:
        return tile
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(tile).resize(new, Image.BILINEAR))


def build_row(name: str, args, class_names: Sequence[str]):
    """Tiles and titles of one image; raises ValueError/FileNotFoundError naming the bad file."""
    from mmwsss.utils.cam_io import CAMFileError, load_cams
    from mmwsss.visualization import heatmap_overlay, label_overlay

    img_path = osp.join(args.img_dir, name + args.img_suffix)
    if not osp.isfile(img_path):
        raise FileNotFoundError(f'{img_path}: image not found')
    with Image.open(img_path) as im:
        img = np.asarray(im.convert('RGB'))
    cam_path = osp.join(args.cam_dir, name + '.npy')
    try:
        cams, ids = load_cams(cam_path, num_classes=len(class_names), image_size=img.shape[:2])
    except CAMFileError as e:
        raise ValueError(str(e)) from None
    tiles = [img]
    titles = [name]
    for cam, cid in zip(cams, ids):
        tiles.append(heatmap_overlay(img, cam, alpha=args.alpha))
        titles.append(f'{int(cid)} {class_names[int(cid)]} (max {cam.max():.2f})')
    for d, what in ((args.pred_dir, 'pseudo-mask'), (args.gt_dir, 'ground truth')):
        if not d:
            continue
        path = osp.join(d, name + '.png')
        label = load_label_png(path, what)
        if label.shape != img.shape[:2]:
            raise ValueError(f'{path}: {what} is {label.shape[0]}x{label.shape[1]} but the image {img_path} is '
                             f'{img.shape[0]}x{img.shape[1]}')
        if label.max(initial=0) > 255 or label.min(initial=0) < 0:
            raise ValueError(f'{path}: label values outside 0..255')
        tiles.append(label_overlay(img, label, alpha=args.alpha))
        present = [int(v) for v in np.unique(label) if v != 0]
        titles.append(f'{what} {present}')
    return [_fit(t, args.tile_size) for t in tiles], titles


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='CAM heat-map / pseudo-mask overlay grid')
    p.add_argument('--img-dir', required=True)
    p.add_argument('--cam-dir', required=True, help='mmwsss CAM files <name>.npy')
    p.add_argument('--pred-dir', default=None, help='pseudo-mask label PNGs <name>.png')
    p.add_argument('--gt-dir', default=None, help='ground-truth label PNGs <name>.png')
    p.add_argument('--list', required=True)
    p.add_argument('--out', required=True, help='output PNG')
    p.add_argument('--max-images', type=int, default=8)
    p.add_argument('--img-suffix', default='.jpg')
    p.add_argument('--num-classes', type=int, default=21)
    p.add_argument('--class-names', default=None, help='one name per line, background first')
    p.add_argument('--alpha', type=float, default=0.5, help='overlay opacity')
    p.add_argument('--tile-size', type=int, default=256, help='longest tile side in pixels (down-scaling only)')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmwsss.utils.io import atomic_path
    from mmwsss.visualization import make_grid
    try:
        names = read_list(args.list)
    except (FileNotFoundError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    if args.max_images > 0:
        names = names[:args.max_images]
    class_names = class_names_for(args.num_classes, args.class_names)
    rows: List[List[np.ndarray]] = []
    titles: List[List[str]] = []
    errors: List[str] = []
    for name in names:
        try:
            t, ti = build_row(name, args, class_names)
        except (ValueError, FileNotFoundError, OSError) as e:
            errors.append(f'{name}: {e}')
            continue
        rows.append(t)
        titles.append(ti)
    if errors:
        print(f'{len(errors)} of {len(names)} images failed (nothing written):', file=sys.stderr)
        for e in errors:
            print(f'  {e}', file=sys.stderr)
        return 1
    grid = make_grid(rows, titles)
    with atomic_path(args.out) as tmp:
        Image.fromarray(grid).save(tmp, format='PNG')
    print(f'{len(rows)} images drawn to {args.out} ({grid.shape[1]}x{grid.shape[0]})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
