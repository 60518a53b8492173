"""Packaging for pyiqa-llmiqa: the `llmiqa` metrics for pyiqa."""
from setuptools import find_packages, setup

setup(
    name='pyiqa-llmiqa',
    version='0.1.0',
    description='Standard-guided, mix-grained image quality assessment with multimodal LLMs, as pyiqa metrics',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(include=['pyiqa_llmiqa', 'pyiqa_llmiqa.*']),
    install_requires=[
        'pyiqa>=0.1.16,<0.2',
        'torch>=2.1',
        'torchvision',
        'transformers>=5,<6',
        'accelerate',
        'sam2>=1.1',
        'pycocotools',
        'pillow',
        'numpy',
        'scipy',
        'pyyaml',
        'tqdm',
        'matplotlib',
        'num2words',  # SmolVLM's processor spells numbers with it
    ],
    extras_require={
        'test': ['pytest', 'hypothesis'],
        'dev': ['pytest', 'hypothesis', 'mutmut>=3.8,<4', 'ruff'],  # tools/mutation.sh: the mutation score
        'owl3': ['icecream'],  # mPLUG-Owl3's own code imports icecream
    },
    entry_points={
        'console_scripts': ['pyiqa-llmiqa=pyiqa_llmiqa.cli:main'],
        'pyiqa.archs': ['llmiqa=pyiqa_llmiqa.registration:register'],
    },
)
