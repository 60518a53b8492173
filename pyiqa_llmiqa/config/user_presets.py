"""The user's own named presets, from a YAML file, for places that take only a metric name.

pyiqa's ``pyiqa NAME -t IMG`` and ``create_metric(NAME)`` pass no options, so a backbone folder or
another K has to live under a name. The file is ``$PYIQA_LLMIQA_PRESETS``, else
``$XDG_CONFIG_HOME/pyiqa-llmiqa/presets.yml`` (``~/.config/...`` when XDG_CONFIG_HOME is unset).
Each top-level key names a preset; its value maps ``preset`` (the built-in preset it starts from,
default ``llmiqa``) and any llmiqa options. An entry named like a built-in preset changes that preset
(e.g. to point it at a local copy of its model)::

    my_llmiqa: {preset: llmiqa, backbone: /models/qwen7b, levels: 5}
    llmiqa_global: {backbone: /models/qwen7b}

The file is read with yaml's safe loader; every error names the file and the line.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

import yaml

from pyiqa_llmiqa.config.options import OptionError

ENV_VAR = 'PYIQA_LLMIQA_PRESETS'
BASE_KEY = 'preset'


def presets_path() -> Path:
    """Where the user's presets are read from (the file need not exist)."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    config_home = os.environ.get('XDG_CONFIG_HOME') or os.path.join(os.path.expanduser('~'), '.config')
    return Path(config_home) / 'pyiqa-llmiqa' / 'presets.yml'


@dataclass
class UserPreset:
    """One entry of the file: its name, the built-in preset it names (None: not named) and its own options."""

    name: str
    base: Any
    options: Any
    where: str  # FILE:LINE of the entry
    option_lines: Dict[str, int]

    def located(self, error) -> OptionError:
        """``error`` (an exception or a message) prefixed with the file and line of the option it names,
        else of the entry."""
        message = str(error)
        named = [line for key, line in self.option_lines.items() if repr(key) in message]
        named += [line for key, line in self.option_lines.items() if re.search(rf'\b{re.escape(key)}\b', message)]
        where = f'{self.where.rsplit(":", 1)[0]}:{named[0]}' if named else self.where
        return OptionError(f'{where}: preset {self.name!r}: {message}')


def _line(node) -> int:
    return node.start_mark.line + 1


def _file_error(path: Path, node_or_mark, reason: str) -> OptionError:
    mark = getattr(node_or_mark, 'start_mark', node_or_mark)
    where = f'{path}:{mark.line + 1}' if mark is not None else str(path)
    return OptionError(f'{where}: {reason}')


def load_user_presets(path: Optional[Path] = None) -> Dict[str, UserPreset]:
    """The entries of the presets file, unchecked (``presets.user_preset_options`` checks one); ``{}``
    when there is no file. A file that is not YAML, or not a mapping of names, is an ``OptionError``."""
    path = Path(path) if path is not None else presets_path()
    try:
        text = path.read_text(encoding='utf-8')
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise OptionError(f'{path}: cannot read the llmiqa presets file ({error})') from None
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return {}
        if not isinstance(root, yaml.MappingNode):
            raise _file_error(path, root, 'the llmiqa presets file holds a mapping of preset names to options')
        presets = {}
        for key_node, value_node in root.value:
            name = loader.construct_object(key_node, deep=True)
            if not isinstance(name, str) or not name:
                raise _file_error(path, key_node, f'a preset name is a string; got {name!r}')
            if name in presets:
                raise _file_error(path, key_node, f'preset {name!r} is defined twice')
            value = loader.construct_object(value_node, deep=True)
            lines = {}
            if isinstance(value_node, yaml.MappingNode):
                lines = {k.value: _line(k) for k, _ in value_node.value if isinstance(k, yaml.ScalarNode)}
            options = dict(value) if isinstance(value, dict) else value
            base = options.pop(BASE_KEY, None) if isinstance(options, dict) else None
            presets[name] = UserPreset(name, base, options, f'{path}:{_line(key_node)}', lines)
        return presets
    except yaml.YAMLError as error:
        mark = getattr(error, 'problem_mark', None)
        problem = getattr(error, 'problem', None) or error
        raise _file_error(path, mark, f'not valid YAML ({problem})') from None
    finally:
        loader.dispose()
