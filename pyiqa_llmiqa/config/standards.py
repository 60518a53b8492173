"""Quality standards: the system and user prompts of the paper's appendix, section E.

A standard is a system prompt that tells the model what each of the K quality levels means, and a
user question that asks for one integer in [1, ..., K]. The paper defines:

- ``word`` standard with 3, 5, 7 or 9 levels (one word per level),
- ``sentence`` standard with 7 levels (one sentence per level, one level per line),
- ``number`` standard for any K (no level descriptions at all).

Users may supply their own level descriptions (best level first) for any K, with the ``word`` or
``sentence`` layout.
"""

from dataclasses import dataclass
from typing import Optional, Sequence

STANDARDS = ('word', 'sentence', 'number')
MIN_LEVELS, MAX_LEVELS = 2, 9  # each level must be one digit token

_INTRO = 'You are a helpful assistant to help me evaluate the quality of the image.'
_GIVEN = 'You will be given standards about each quality level. The quality standard is listed as follows:'
_HIGHER = 'The higher the image quality, the higher the score should be.'
_FORMAT = "Please strictly follow the USER's format, otherwise the result will be invalid."

# Level descriptions, best level first, as printed in the appendix.
WORD_LEVELS = {
    9: ('Perfect', 'Excellent', 'Very Good', 'Good', 'Fair', 'Bad', 'Poor', 'Awful', 'Very Bad'),
    7: ('Perfect', 'Excellent', 'Good', 'Fair', 'Bad', 'Poor', 'Very Bad'),
    5: ('Excellent', 'Good', 'Fair', 'Bad', 'Poor'),
    3: ('Excellent', 'Fair', 'Poor'),
}
SENTENCE_LEVELS = {
    7: (
        'Perfect! The overall quality of the image is unparalleled, with every detail meeting the highest standards.',
        'Excellent! The overall quality of the image is excellent, with all aspects being exemplary and without flaw.',
        'Good! The overall quality of the image is good, and it is satisfactory in many aspects.',
        'Fair! The overall quality of the image is fair. There are certain merits but also some deficiencies.',
        'Bad! The overall quality of the image is bad, with noticeable shortcomings.',
        'Poor! The overall quality of the image is poor, with obvious defects.',
        'Very Bad! The overall quality of the image is very bad and hard to accept.',
    ),
}


@dataclass(frozen=True)
class Standard:
    """The two prompts of one quality standard with K levels."""

    name: str
    levels: int
    system_prompt: str
    question: str


def defined_combinations():
    """The (standard, K) pairs the paper defines, as readable strings."""
    word = ', '.join(f'word/{k}' for k in sorted(WORD_LEVELS))
    sentence = ', '.join(f'sentence/{k}' for k in sorted(SENTENCE_LEVELS))
    return f'{word}, {sentence}, number/{MIN_LEVELS}..{MAX_LEVELS}'


def question(levels: int) -> str:
    """The user prompt, asking for one integer in [1, ..., K]."""
    choices = ','.join(str(k) for k in range(1, levels + 1))
    return (
        f'please evaluate the quality of the image and score in [{choices}]. '
        'Only tell me the number. Do not analyze the image.'
    )


def build_standard(name: str = 'word', levels: int = 7, level_descriptions: Optional[Sequence[str]] = None) -> Standard:
    """Return the standard ``name`` with ``levels`` levels.

    ``level_descriptions`` (best level first, one per level) replaces the paper's descriptions and
    makes any K in [2, 9] valid for the ``word`` and ``sentence`` layouts.
    """
    if name not in STANDARDS:
        raise ValueError(f'standard must be one of {", ".join(STANDARDS)}; got {name!r}')
    if not isinstance(levels, int) or isinstance(levels, bool) or not MIN_LEVELS <= levels <= MAX_LEVELS:
        raise ValueError(
            f'levels must be an integer from {MIN_LEVELS} to {MAX_LEVELS} (one digit token per level); got {levels!r}'
        )
    if name == 'number':
        if level_descriptions is not None:
            raise ValueError('the number standard has no level descriptions; use word or sentence')
        system = f'{_INTRO} {_HIGHER} {_FORMAT}'
        return Standard(name, levels, system, question(levels))

    if level_descriptions is not None:
        descriptions = tuple(level_descriptions)
        if len(descriptions) != levels or not all(isinstance(d, str) and d.strip() for d in descriptions):
            raise ValueError(
                f'level_descriptions must be {levels} non-empty strings, best level first; got {list(descriptions)!r}'
            )
    else:
        table = WORD_LEVELS if name == 'word' else SENTENCE_LEVELS
        if levels not in table:
            raise ValueError(
                f'the paper defines no {name} standard with {levels} levels; defined: '
                f'{defined_combinations()}. Pass level_descriptions (best level first) to use '
                f'your own.'
            )
        descriptions = table[levels]

    listed = [f'{levels - i}: {text}' for i, text in enumerate(descriptions)]
    if name == 'word':
        system = f'{_INTRO} {_GIVEN} {", ".join(listed)}. {_HIGHER} {_FORMAT}'
    else:
        system = '\n'.join([f'{_INTRO} {_GIVEN}', *listed, _HIGHER, _FORMAT])
    return Standard(name, levels, system, question(levels))
