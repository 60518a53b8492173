"""Packaging for pyiqa-llmiqa: the `llmiqa` metrics for pyiqa.

Besides the package, the wheel puts `pyiqa_llmiqa_autoload.pth` at the top of site-packages (for
normal and editable installs alike): Python runs it at start-up, and it registers the presets with
pyiqa when a program imports pyiqa (see pyiqa_llmiqa_autoload.py).
"""

import os
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

AUTOLOAD_PTH = 'pyiqa_llmiqa_autoload.pth'


class BuildPyWithPth(build_py):
    """build_py that also copies the .pth file to the root of the wheel (a normal install)."""

    def run(self):
        super().run()
        if not self.editable_mode:
            self.copy_file(AUTOLOAD_PTH, os.path.join(self.build_lib, AUTOLOAD_PTH))

    def get_outputs(self, include_bytecode=1):
        outputs = super().get_outputs(include_bytecode)
        return outputs if self.editable_mode else [*outputs, os.path.join(self.build_lib, AUTOLOAD_PTH)]


COMMANDS = {'build_py': BuildPyWithPth}
try:
    from setuptools.command.editable_wheel import editable_wheel

    class EditableWheelWithPth(editable_wheel):
        """An editable install maps the package to the source tree; the .pth goes in the wheel's root."""

        def _run_build_commands(self, dist_name, unpacked_wheel, build_lib, tmp_dir):
            result = super()._run_build_commands(dist_name, unpacked_wheel, build_lib, tmp_dir)
            shutil.copy(AUTOLOAD_PTH, os.path.join(unpacked_wheel, AUTOLOAD_PTH))
            return result

    COMMANDS['editable_wheel'] = EditableWheelWithPth
except ImportError:  # setuptools before 64 has no PEP 660 editable installs
    pass

setup(
    name='pyiqa-llmiqa',
    version='0.1.0',
    description='Standard-guided, mix-grained image quality assessment with multimodal LLMs, as pyiqa metrics',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.10',
    packages=find_packages(include=['pyiqa_llmiqa', 'pyiqa_llmiqa.*']),
    py_modules=['pyiqa_llmiqa_autoload'],
    cmdclass=COMMANDS,
    # lower bounds: the versions CI's lowest install runs the suite on (.ci/lowest-constraints.txt)
    install_requires=[
        'pyiqa>=0.1.16,<0.2',
        'torch>=2.6.0',  # transformers' Gemma 3 masks need torch 2.6
        'torchvision>=0.21.0',
        'transformers>=5.13.0,<6',  # Janus fails before 5.13 (image features and tokens do not match)
        'accelerate>=1.2.0',  # transformers 5.x imports accelerate's get_module_size_with_ties (1.2)
        'sam2>=1.1.0',
        'pycocotools>=2.0.7',
        'pillow>=10.3.0',  # before 10.3 a 16-bit PNG of small values reads as 8-bit (tests/test_images.py)
        'numpy>=1.24.4',
        'scipy>=1.10.0',
        'pyyaml>=6.0',
        'tqdm>=4.68.0',  # before 4.68 the bar does not follow a resized terminal (tests/test_bench_runner.py)
        'matplotlib>=3.7.0',
        'num2words>=0.5.10',  # SmolVLM's processor spells numbers with it
    ],
    extras_require={
        'test': ['pytest', 'hypothesis', 'openai>=1.40', 'transformers[serving]'],  # tests/test_openai_server.py
        'server': ['openai>=1.40'],  # engine openai: an OpenAI-compatible server runs the model
        'dev': ['pytest', 'hypothesis', 'mutmut>=3.8,<4', 'ruff'],  # tools/mutation.sh: the mutation score
        'owl3': ['icecream'],  # mPLUG-Owl3's own code imports icecream
    },
    entry_points={
        'console_scripts': ['pyiqa-llmiqa=pyiqa_llmiqa.cli.main:main'],
        'pyiqa.archs': ['llmiqa=pyiqa_llmiqa.pyiqa_plugin:register'],
    },
)
