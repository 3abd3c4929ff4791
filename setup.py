from setuptools import find_packages, setup


def readme() -> str:
    with open('README.md', encoding='utf-8') as f:
        return f.read()


def version() -> str:
    scope: dict = {}
    with open('mmwsss/version.py', encoding='utf-8') as f:
        exec(f.read(), scope)
    return scope['__version__']


def requirements(path: str) -> list:
    with open(path, encoding='utf-8') as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


setup(
    name='mmwsss',
    version=version(),
    description='Weakly-supervised semantic segmentation on OpenMMLab (MMSegmentation 1.x)',
    long_description=readme(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests')),
    python_requires='>=3.11',
    # mmcv==2.1.0 with compiled ops is installed by tools/setup_env.sh (see README).
    install_requires=requirements('requirements/runtime.txt') + ['mmcv==2.1.0'],
    extras_require={'tests': requirements('requirements/tests.txt')},
    license='Apache-2.0',
    zip_safe=False,
)
