"""Checks run when mmwsss is imported: the pinned OpenMMLab stack and mmcv's compiled ops."""
from importlib import metadata
from typing import Dict

# The versions mmwsss is built and tested against (requirements/*.txt, tools/setup_env.sh).
PINNED: Dict[str, str] = {
    'mmcv': '2.1.0',
    'mmengine': '0.10.7',
    'mmsegmentation': '1.2.2',
}
FIX = ('run `make env` (or `bash tools/setup_env.sh`) in the mmwsss checkout: it builds mmcv 2.1.0 with its '
       'compiled ops for the installed torch and installs the pinned OpenMMLab packages')


class EnvironmentMismatchError(ImportError):
    """The installed OpenMMLab stack is not the one mmwsss needs."""


def _installed(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return ''


def check_environment() -> None:
    """Raise :class:`EnvironmentMismatchError` naming the fix if a pin is violated or mmcv has no ops."""
    problems = []
    for dist, want in PINNED.items():
        have = _installed(dist)
        if dist == 'mmcv' and not have and _installed('mmcv-lite'):
            problems.append('mmcv-lite (no compiled ops) is installed instead of mmcv 2.1.0 with ops')
        elif have != want:
            problems.append(f'{dist}=={want} is required, found {have or "nothing"}')
    if not problems:
        try:
            import mmcv._ext  # noqa: F401  (the compiled ops)
        except ImportError as e:
            problems.append(f'mmcv {PINNED["mmcv"]} is installed without working compiled ops ({e})')
    if problems:
        raise EnvironmentMismatchError('mmwsss cannot be imported: ' + '; '.join(problems) + '. To fix: ' + FIX)
