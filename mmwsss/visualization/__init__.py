from .grid import make_grid
from .overlay import colorize_label, heatmap, heatmap_overlay, label_overlay
from .palette import voc_palette, voc_palette_array

__all__ = ['voc_palette', 'voc_palette_array', 'colorize_label', 'label_overlay', 'heatmap', 'heatmap_overlay',
           'make_grid']
