"""The prompts are the appendix's, character for character (whitespace normalised)."""

import pytest

from pyiqa_llmiqa.config.standards import build_standard, question


def _normalise(text):
    return ' '.join(text.split())


# The complete prompts of the paper's appendix E ("Complete prompt", llm-iqa-appendix.txt), copied
# with the page's line numbers removed and whitespace normalised: (standard, K) -> (system, user).
_INTRO = 'You are a helpful assistant to help me evaluate the quality of the image.'
_GIVEN = 'You will be given standards about each quality level. The quality standard is listed as follows:'
_TAIL = (
    "The higher the image quality, the higher the score should be. Please strictly follow the USER's "
    'format, otherwise the result will be invalid.'
)


def _user(k):
    return (
        f'please evaluate the quality of the image and score in [{k}]. '
        'Only tell me the number. Do not analyze the image.'
    )


APPENDIX_E = {
    ('word', 9): (
        f'{_INTRO} {_GIVEN} 9: Perfect, 8: Excellent, 7: Very Good, 6: Good, 5: Fair, 4: Bad, 3: Poor, '
        f'2: Awful, 1: Very Bad. {_TAIL}',
        _user('1,2,3,4,5,6,7,8,9'),
    ),
    ('word', 7): (
        f'{_INTRO} {_GIVEN} 7: Perfect, 6: Excellent, 5: Good, 4: Fair, 3: Bad, 2: Poor, 1: Very Bad. {_TAIL}',
        _user('1,2,3,4,5,6,7'),
    ),
    ('word', 5): (f'{_INTRO} {_GIVEN} 5: Excellent, 4: Good, 3: Fair, 2: Bad, 1: Poor. {_TAIL}', _user('1,2,3,4,5')),
    ('word', 3): (f'{_INTRO} {_GIVEN} 3: Excellent, 2: Fair, 1: Poor. {_TAIL}', _user('1,2,3')),
    ('sentence', 7): (
        f'{_INTRO} {_GIVEN} 7: Perfect! The overall quality of the image is unparalleled, with every detail '
        'meeting the highest standards. 6: Excellent! The overall quality of the image is excellent, with all '
        'aspects being exemplary and without flaw. 5: Good! The overall quality of the image is good, and it is '
        'satisfactory in many aspects. 4: Fair! The overall quality of the image is fair. There are certain '
        'merits but also some deficiencies. 3: Bad! The overall quality of the image is bad, with noticeable '
        'shortcomings. 2: Poor! The overall quality of the image is poor, with obvious defects. 1: Very Bad! '
        f'The overall quality of the image is very bad and hard to accept. {_TAIL}',
        _user('1,2,3,4,5,6,7'),
    ),
    ('number', 7): (f'{_INTRO} {_TAIL}', _user('1,2,3,4,5,6,7')),
}


@pytest.mark.parametrize('name, levels', sorted(APPENDIX_E))
def test_prompts_match_appendix(name, levels):
    system, user = APPENDIX_E[name, levels]
    standard = build_standard(name, levels)
    assert _normalise(standard.system_prompt) == system
    assert standard.question == user
    assert (standard.name, standard.levels) == (name, levels)


def test_sentence_standard_lists_one_level_per_line():
    lines = build_standard('sentence', 7).system_prompt.splitlines()
    assert [line[:3] for line in lines[1:8]] == ['7: ', '6: ', '5: ', '4: ', '3: ', '2: ', '1: ']


@pytest.mark.parametrize('levels', range(2, 10))
def test_number_standard_for_any_k(levels):
    standard = build_standard('number', levels)
    assert standard.question == question(levels)
    assert f'[{",".join(map(str, range(1, levels + 1)))}]' in standard.question


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


def test_defaults_are_the_word_standard_with_seven_levels():
    assert build_standard() == build_standard('word', 7)
    assert build_standard().name == 'word' and build_standard().levels == 7


@pytest.mark.parametrize('levels', [True, 7.0, '7'])
def test_levels_must_be_a_real_integer(levels):
    with pytest.raises(ValueError, match='levels must be an integer from 2 to 9'):
        build_standard('word', levels)


def test_the_number_standard_takes_no_descriptions():
    with pytest.raises(ValueError, match='^the number standard has no level descriptions; use word or sentence$'):
        build_standard('number', 3, ['a', 'b', 'c'])


@pytest.mark.parametrize('descriptions', [['Good', ' ', 'Bad'], ['Good', 3, 'Bad'], ['Good', '', 'Bad']])
def test_descriptions_must_be_non_empty_strings(descriptions):
    with pytest.raises(ValueError, match='level_descriptions must be 3 non-empty strings'):
        build_standard('word', 3, descriptions)


def test_unknown_standard_is_named():
    with pytest.raises(ValueError, match="^standard must be one of word, sentence, number; got 'words'$"):
        build_standard('words', 7)


def test_own_descriptions_in_the_sentence_layout_one_per_line():
    standard = build_standard('sentence', 2, ['Sharp.', 'Blurry.'])
    assert standard.system_prompt.splitlines() == [
        'You are a helpful assistant to help me evaluate the quality of the image. You will be given standards '
        'about each quality level. The quality standard is listed as follows:',
        '2: Sharp.',
        '1: Blurry.',
        'The higher the image quality, the higher the score should be.',
        "Please strictly follow the USER's format, otherwise the result will be invalid.",
    ]
