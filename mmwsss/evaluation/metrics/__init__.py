from .contour_fscore import ContourFScore

__all__ = ['ContourFScore']
