"""``python -m pyiqa_llmiqa.cli`` (what torchrun and accelerate launch run)."""

import sys

from pyiqa_llmiqa.cli.main import main

if __name__ == '__main__':
    sys.exit(main())
