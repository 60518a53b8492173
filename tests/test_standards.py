"""The prompts are the appendix's, character for character (whitespace normalised)."""
import re

import pytest

from conftest import shared_path
from pyiqa_llmiqa.standards import build_standard, question


def _normalise(text):
    return ' '.join(text.split())


@pytest.fixture(scope='module')
def appendix_prompts():
    """(system, user) pairs of section E in order: word 9, 7, 5, 3, sentence 7, number 7."""
    lines = shared_path('paper', 'llm-iqa-appendix.txt').read_text(encoding='utf-8').splitlines()
    # Drop the page's line numbers, then join typeset lines.
    text = ' '.join(re.sub(r'^\d{3}(\s+\d{3})*\s*', '', line) for line in lines)
    text = _normalise(text.split('E COMPLETE PROMPT', 1)[1].replace('*', ''))
    pairs = re.findall(r'# System: (.*?) (?:# )?User: (please evaluate .*?Do not analyze the image\.)', text)
    assert len(pairs) == 6
    return pairs


@pytest.mark.parametrize(
    'index, name, levels',
    [(0, 'word', 9), (1, 'word', 7), (2, 'word', 5), (3, 'word', 3), (4, 'sentence', 7), (5, 'number', 7)],
)
def test_prompts_match_appendix(appendix_prompts, index, name, levels):
    system, user = appendix_prompts[index]
    standard = build_standard(name, levels)
    assert _normalise(standard.system_prompt) == system
    assert standard.question == user


def test_sentence_standard_lists_one_level_per_line():
    lines = build_standard('sentence', 7).system_prompt.splitlines()
    assert [line[:3] for line in lines[1:8]] == ['7: ', '6: ', '5: ', '4: ', '3: ', '2: ', '1: ']


@pytest.mark.parametrize('levels', range(2, 10))
def test_number_standard_for_any_k(levels):
    standard = build_standard('number', levels)
    assert standard.question == question(levels)
    assert f"[{','.join(map(str, range(1, levels + 1)))}]" in standard.question


@pytest.mark.parametrize('name, levels', [('sentence', 5), ('word', 4), ('word', 8)])
def test_undefined_combination_names_the_defined_ones(name, levels):
    with pytest.raises(ValueError) as error:
        build_standard(name, levels)
    message = str(error.value)
    assert f'no {name} standard with {levels} levels' in message
    assert 'word/3, word/5, word/7, word/9, sentence/7, number/2..9' in message


def test_own_level_descriptions_make_any_k_valid():
    standard = build_standard('word', 4, ['Great', 'Fine', 'Meh', 'Awful'])
    assert '4: Great, 3: Fine, 2: Meh, 1: Awful.' in standard.system_prompt
    assert standard.question.endswith('score in [1,2,3,4]. Only tell me the number. Do not analyze the image.')


@pytest.mark.parametrize('levels', [1, 10, 0])
def test_levels_out_of_range(levels):
    with pytest.raises(ValueError, match='levels must be an integer from 2 to 9'):
        build_standard('number', levels)


def test_descriptions_must_match_levels():
    with pytest.raises(ValueError, match='level_descriptions must be 3 non-empty strings'):
        build_standard('word', 3, ['Good', 'Bad'])
