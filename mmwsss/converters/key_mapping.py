"""Apply a key mapping to a weight dictionary and report what happened to every tensor.

A *key function* maps one source name to

* a target key (``str``): the tensor is converted to that key;
* ``None``: the tensor is **deliberately dropped** (e.g. an ImageNet classifier);
* or raises :class:`KeyError`: the name is unknown to the mapping (reported as *unused*).

:func:`convert_with_key_map` applies it to every source tensor and, when the expected target shapes are
given (a model's ``state_dict``), checks shapes and lists the expected keys nobody filled (*missing*).
"""
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, List, Mapping, Optional, Tuple, Union

import numpy as np
import torch

__all__ = ['KeyFn', 'KeyMappingError', 'ConversionResult', 'convert_with_key_map', 'expected_shapes']

KeyFn = Callable[[str], Optional[str]]
ArrayLike = Union[np.ndarray, torch.Tensor]


class KeyMappingError(ValueError):
    """A conversion cannot produce a valid state dict (shape mismatch, two sources for one key, ...)."""


@dataclass
class ConversionResult:
    """Outcome of :func:`convert_with_key_map`.

    Attributes:
        state_dict: converted tensors, in source order.
        converted: (source name, target key) for every converted tensor.
        dropped: source names the mapping drops on purpose.
        unused: source names the mapping does not know (not converted).
        unexpected: (source name, target key) pairs whose target key the model does not have (not
            converted; only filled when expected shapes were given).
        missing: expected target keys that no source filled (``num_batches_tracked`` counters excluded:
            BatchNorm fills those itself when a plain state dict is loaded).
    """
    state_dict: 'OrderedDict[str, torch.Tensor]' = field(default_factory=OrderedDict)
    converted: List[Tuple[str, str]] = field(default_factory=list)
    dropped: List[str] = field(default_factory=list)
    unused: List[str] = field(default_factory=list)
    unexpected: List[Tuple[str, str]] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when every source tensor was converted or deliberately dropped and nothing is missing."""
        return not (self.unused or self.unexpected or self.missing)

    def summary(self, title: str = 'conversion') -> str:
        """Human-readable multi-line report."""
        lines = [
            f'{title}: {len(self.converted)} tensors converted, {len(self.dropped)} dropped on purpose, '
            f'{len(self.unused)} unused, {len(self.unexpected)} not in the model, '
            f'{len(self.missing)} missing'
        ]
        for label, items in (('dropped', self.dropped), ('unused (unknown to the mapping)', self.unused),
                             ('not in the model', [f'{s} -> {t}' for s, t in self.unexpected]),
                             ('missing (left at their initial values)', self.missing)):
            if items:
                lines.append(f'  {label}:')
                lines.extend(f'    {x}' for x in items)
        return '\n'.join(lines)


def _to_tensor(value: ArrayLike) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    return torch.from_numpy(np.array(value, copy=True))


def expected_shapes(module: torch.nn.Module, prefix: str = '') -> 'OrderedDict[str, torch.Size]':
    """``{prefix + key: shape}`` of a module's state dict (works on ``meta``-device modules too)."""
    return OrderedDict((prefix + k, v.shape) for k, v in module.state_dict().items())


def convert_with_key_map(source: Mapping[str, ArrayLike],
                         key_fn: KeyFn,
                         expected: Optional[Mapping[str, Optional[torch.Size]]] = None,
                         source_name: str = '<weights>') -> ConversionResult:
    """Map every tensor of ``source`` through ``key_fn``; see the module docstring.

    Args:
        source: name -> array (numpy or torch).
        key_fn: the key function.
        expected: target key -> shape (``None``: key expected, shape not checked); when given, shapes
            are checked, targets absent from it are
            reported as ``unexpected`` and expected keys left unfilled as ``missing``.
        source_name: used in error messages (the file name).

    Raises:
        KeyMappingError: a converted tensor's shape differs from the expected shape, or two source
            tensors map to the same target key.
    """
    result = ConversionResult()
    origin = {}
    for name, value in source.items():
        try:
            target = key_fn(name)
        except KeyError:
            result.unused.append(name)
            continue
        if target is None:
            result.dropped.append(name)
            continue
        if target in origin:
            raise KeyMappingError(f'{source_name}: {name!r} and {origin[target]!r} both map to {target!r}')
        if expected is not None:
            if target not in expected:
                result.unexpected.append((name, target))
                continue
            shape = tuple(np.shape(value)) if not isinstance(value, torch.Tensor) else tuple(value.shape)
            if expected[target] is not None and shape != tuple(expected[target]):
                raise KeyMappingError(f'{source_name}: {name!r} has shape {shape} but {target!r} '
                                      f'expects {tuple(expected[target])}')
        origin[target] = name
        result.state_dict[target] = _to_tensor(value)
        result.converted.append((name, target))
    if expected is not None:
        result.missing = [
            k for k in expected if k not in result.state_dict and not k.endswith('num_batches_tracked')
        ]
    return result
