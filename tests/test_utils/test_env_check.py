"""Importing mmwsss checks the environment and names the fix when it is wrong."""
import subprocess
import sys
import textwrap

import pytest


def _import_mmwsss_with(prelude: str) -> subprocess.CompletedProcess:
    code = textwrap.dedent(prelude) + '\nimport mmwsss\n'
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)


def test_import_succeeds_in_the_project_environment():
    res = _import_mmwsss_with('')
    assert res.returncode == 0, res.stderr


def test_mmcv_without_compiled_ops_names_the_fix():
    # Make 'import mmcv._ext' fail as it does with mmcv-lite or a build that skipped the ops.
    res = _import_mmwsss_with("""
        import sys
        sys.modules['mmcv._ext'] = None
    """)
    assert res.returncode != 0
    assert 'without working compiled ops' in res.stderr
    assert 'tools/setup_env.sh' in res.stderr and 'make env' in res.stderr


@pytest.mark.parametrize('dist,fake', [('mmcv', '2.2.0'), ('mmengine', '0.10.4'), ('mmsegmentation', '1.2.1')])
def test_version_outside_the_pins_names_the_fix(dist, fake):
    res = _import_mmwsss_with(f"""
        from importlib import metadata
        _real = metadata.version
        metadata.version = lambda name: {fake!r} if name == {dist!r} else _real(name)
    """)
    assert res.returncode != 0
    assert f'{dist}==' in res.stderr and f'found {fake}' in res.stderr
    assert 'make env' in res.stderr
