"""The ``pyiqa-llmiqa`` command line: ``main`` builds the parser, one module per command in ``commands``."""
