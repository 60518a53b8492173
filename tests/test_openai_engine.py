"""engine: openai against a stand-in server (pyiqa_llmiqa.testing.openai_stub) that answers in vLLM's
documented format: what transformers serve cannot show (log-probabilities), faults, and secrets."""

import base64
import io
import json
import math
import socket
import time

import numpy as np
import pytest
from PIL import Image

from pyiqa_llmiqa.config.options import resolve_options
from pyiqa_llmiqa.config.standards import build_standard
from pyiqa_llmiqa.errors import OptionError, ServerAnswerError, ServerError
from pyiqa_llmiqa.metric.llmiqa_arch import LLMIQA
from pyiqa_llmiqa.testing.openai_stub import OpenAIStub, vllm_completion

MODEL = 'Qwen/Qwen2.5-VL-7B-Instruct'  # a name the stub serves; nothing is loaded or downloaded


def served(reply, model=MODEL, **kwargs):
    return OpenAIStub(reply, model=model, **kwargs)


def metric(url, **options):
    return LLMIQA(backbone=MODEL, mix_grained=False, engine='openai', server_url=url, **options)


def answering(*steps):
    """A reply that gives every crop the same vLLM completion."""
    return lambda body: (200, {}, vllm_completion(MODEL, steps))


def image(seed=0, size=(40, 30)):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def ln(p):
    return math.log(p)


# --- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    'options, message',
    [
        ({'engine': 'openai'}, "option 'server_url': engine openai needs"),
        ({'engine': 'vllm'}, "option 'engine': must be one of transformers, openai"),
        ({'server_url': 'http://127.0.0.1:8000/v1'}, "option 'server_url' is for engine openai"),
        ({'engine': 'openai', 'server_url': 'ftp://host/v1'}, 'must be an http:// or https:// URL'),
        ({'engine': 'openai', 'server_url': 'http://10.0.0.5:8000/v1'}, "plain http:// to '10.0.0.5'"),
        ({'engine': 'openai', 'server_url': 'http://127.0.0.1:1/v1', 'requests_in_flight': 0}, 'at least 1'),
        ({'engine': 'openai', 'server_url': 'http://127.0.0.1:1/v1', 'request_timeout': 0}, 'positive'),
        ({'engine': 'openai', 'server_url': 'http://127.0.0.1:1/v1', 'request_retries': -1}, '0 or more'),
    ],
)
def test_server_options_are_checked_when_resolved(options, message):
    with pytest.raises(OptionError, match=message.replace('(', r'\(').replace('.', r'\.')):
        resolve_options(**options)


def test_plain_http_elsewhere_only_when_allowed_and_https_always():
    for url in ('https://api.example.com/v1', 'http://localhost:8000/v1', 'http://[::1]:8000/v1'):
        assert resolve_options(engine='openai', server_url=url).server_url == url
    allowed = resolve_options(engine='openai', server_url='http://10.0.0.5:8000/v1', allow_insecure_http=True)
    assert allowed.allow_insecure_http


@pytest.mark.parametrize(
    'options',
    [
        {'api_key_env': 'sk-proj-abcdef0123456789'},  # a key pasted where its variable's name goes
        {'server_url': 'https://user:sk-proj-abcdef0123456789@api.example.com/v1'},
        {'server_url': 'https://api.example.com/v1?key=sk-proj-abcdef0123456789'},
    ],
)
def test_a_key_in_the_wrong_option_is_refused_without_showing_it(options):
    merged = {'engine': 'openai', 'server_url': 'https://api.example.com/v1', **options}
    with pytest.raises(OptionError) as caught:
        resolve_options(**merged)
    assert 'sk-proj' not in str(caught.value)


# --- the request --------------------------------------------------------------------------------


def test_each_crop_is_one_request_with_the_standard_the_png_and_the_question():
    crops = [image(0, (40, 30)), image(1, (25, 60))]
    with served(answering(('6', ln(0.9), {'6': ln(0.9)}))) as stub:
        engine = metric(stub.url).engine
        engine.answer(crops)
        bodies = stub.completions()
    standard = build_standard('word', 7)
    assert len(bodies) == 2
    received = []
    for body in bodies:
        assert body['model'] == MODEL
        assert (body['max_tokens'], body['temperature'], body['logprobs'], body['top_logprobs']) == (1, 0, True, 20)
        system, user = body['messages']
        assert system == {'role': 'system', 'content': standard.system_prompt}
        (picture, question) = user['content']
        assert question == {'type': 'text', 'text': standard.question}
        prefix = 'data:image/png;base64,'
        assert picture['image_url']['url'].startswith(prefix)
        png = Image.open(io.BytesIO(base64.b64decode(picture['image_url']['url'][len(prefix) :])))
        assert png.format == 'PNG'
        received.append(np.asarray(png.convert('RGB')))
    sent = sorted(received, key=lambda a: a.shape)
    for array, crop in zip(sent, sorted(crops, key=lambda c: np.asarray(c).shape)):
        assert np.array_equal(array, np.asarray(crop))  # lossless: the very pixels


def test_only_the_configured_url_is_asked_and_the_key_travels_as_bearer(monkeypatch):
    monkeypatch.setenv('LLMIQA_TEST_KEY', 'sk-test-0123456789abcdef')
    with served(answering(('6', ln(0.9), {'6': ln(0.9)}))) as stub:
        metric(stub.url, api_key_env='LLMIQA_TEST_KEY').engine.answer([image()])
        paths = [path for path, _, _ in stub.requests]
        auth = {headers.get('authorization') for _, headers, _ in stub.requests}
    assert paths == ['/v1/models', '/v1/chat/completions']
    assert auth == {'Bearer sk-test-0123456789abcdef'}


# --- reading vLLM's log-probabilities --------------------------------------------------------------


def test_expectation_renormalises_over_the_levels_among_the_top_log_probs():
    # top tokens: '6' 0.5, ' 6' 0.1 (one level, two spellings), '5' 0.2, 'x' 0.15; levels 1-4 and 7 absent
    top = {'6': ln(0.5), ' 6': ln(0.1), '5': ln(0.2), 'x': ln(0.15)}
    with served(answering(('6', ln(0.5), top))) as stub:
        score = metric(stub.url, score_mode='expectation').assess([image()])[0].score
    assert score == pytest.approx(5 * 0.2 / 0.8 + 6 * 0.6 / 0.8, abs=1e-6)  # 5.75


def test_greedy_reads_the_generated_token_and_falls_back_to_the_likeliest_level():
    with served(answering(('3', ln(0.4), {'3': ln(0.4), '6': ln(0.35)}))) as stub:
        assert metric(stub.url).assess([image()])[0].score == 3.0
    with served(answering(('x', ln(0.5), {'x': ln(0.5), '2': ln(0.1), ' 4': ln(0.2)}))) as stub:
        fallback = metric(stub.url)
        (assessment,) = fallback.assess([image()])
    assert (assessment.score, assessment.fallbacks, fallback.fallback_count) == (4.0, 1, 1)


def test_a_blank_first_token_is_read_one_token_later_from_then_on():
    """SmolVLM's template ends with 'Assistant:' and the model writes ' ' then the digit."""

    def reply(body):
        steps = [(' ', ln(0.9), {' ': ln(0.9), '7': ln(0.01)}), ('5', ln(0.8), {'5': ln(0.8), '4': ln(0.1)})]
        return 200, {}, vllm_completion(MODEL, steps[: body['max_tokens']])

    with served(reply) as stub:
        m = metric(stub.url, score_mode='expectation')
        first = m.assess([image(0)])[0].score
        second = m.assess([image(1)])[0].score
        asked = [body['max_tokens'] for body in stub.completions()]
    assert first == second == pytest.approx((5 * 0.8 + 4 * 0.1) / 0.9)
    assert asked == [1, 2, 2]


def test_no_level_among_the_top_log_probs_is_an_error_not_nan():
    with served(answering(('x', ln(0.6), {'x': ln(0.6), 'y': ln(0.3)}))) as stub:
        for mode in ('expectation', 'greedy'):
            with pytest.raises(ServerAnswerError, match='crop 0 with no quality level among its top 20 log-prob'):
                metric(stub.url, score_mode=mode).assess([image()])


def without_log_probs(text):
    def reply(body):
        completion = vllm_completion(MODEL, [(text, 0.0, {})])
        completion['choices'][0]['logprobs'] = None  # as transformers serve answers
        return 200, {}, completion

    return reply


def test_a_server_without_log_probs_scores_greedy_levels_and_says_what_it_cannot_do():
    with served(without_log_probs('5')) as stub:
        assert metric(stub.url).assess([image()])[0].score == 5.0
        with pytest.raises(ServerAnswerError, match=f"{stub.url} returned no log-probabilities.*'expectation'"):
            metric(stub.url, score_mode='expectation').assess([image()])
    with served(without_log_probs('Good')) as stub:
        with pytest.raises(ServerAnswerError, match="with 'Good', not a level 1..7, and returned no log-prob"):
            metric(stub.url).assess([image()])


@pytest.mark.parametrize(
    'body, what',
    [
        ({'choices': []}, "'choices' is \\[\\]"),
        ({'object': 'error'}, "it has no 'choices'"),
        ({'choices': [{'message': {'role': 'assistant'}}]}, "no 'content' in its message"),
        (
            {'choices': [{'message': {'content': '5'}, 'logprobs': {'content': [{'token': '5', 'logprob': 'high'}]}}]},
            "no 'top_logprobs'",
        ),
        (
            {
                'choices': [
                    {
                        'message': {'content': '5'},
                        'logprobs': {
                            'content': [
                                {'token': '5', 'logprob': 3.0, 'top_logprobs': [{'token': '5', 'logprob': 3.0}]}
                            ]
                        },
                    }
                ]
            },
            'a log-probability is 3.0, not a number <= 0',
        ),
    ],
)
def test_a_malformed_answer_names_what_was_wrong(body, what):
    with served(lambda _: (200, {}, body)) as stub:
        with pytest.raises(ServerAnswerError, match=f'{stub.url} answered crop 0 malformed: .*{what}'):
            metric(stub.url).assess([image()])


# --- faults ----------------------------------------------------------------------------------------


def closed_port_url():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return f'http://127.0.0.1:{sock.getsockname()[1]}/v1'


def test_a_server_that_is_down_is_one_clear_error_within_5_seconds():
    url = closed_port_url()
    start = time.monotonic()
    with pytest.raises(ServerError, match=f'the server at {url} failed to list its models.*no connection'):
        metric(url)
    assert time.monotonic() - start < 5


def test_a_wrong_base_url_names_the_url_and_what_it_answered():
    with served(answering()) as stub:
        wrong = stub.url.replace('/v1', '/api')
        start = time.monotonic()
        with pytest.raises(ServerError, match=f'{wrong} failed to list its models .*HTTP 404'):
            metric(wrong)
    assert time.monotonic() - start < 5


def test_a_model_the_server_does_not_serve_is_an_option_error():
    with served(answering(), model='Qwen/Qwen2.5-VL-3B-Instruct') as stub:
        with pytest.raises(OptionError, match=r"serves \['Qwen/Qwen2.5-VL-3B-Instruct'\], not 'Qwen/Qwen2.5-VL-7B"):
            metric(stub.url)


def test_429_is_retried_after_the_time_retry_after_asks_for():
    times = []

    def reply(body):
        times.append(time.monotonic())
        if len(times) <= 2:
            return 429, {'Retry-After': '1'}, {'error': {'message': 'slow down'}}
        return 200, {}, vllm_completion(MODEL, [('4', ln(0.9), {'4': ln(0.9)})])

    with served(reply) as stub:
        assert metric(stub.url, request_retries=2).assess([image()])[0].score == 4.0
    assert len(times) == 3
    assert all(later - earlier >= 0.9 for earlier, later in zip(times, times[1:]))


def test_5xx_and_timeouts_are_retried_then_fail_naming_the_url():
    calls = []

    def failing(body):
        calls.append(1)
        return 503, {'Retry-After': '0'}, {'error': {'message': 'overloaded'}}

    with served(failing) as stub:
        with pytest.raises(ServerError, match=f'{stub.url} failed on crop 0 after 2 retries: it answered HTTP 503'):
            metric(stub.url, request_retries=2).assess([image()])
    assert len(calls) == 3

    def slow(body):
        calls.append(1)
        time.sleep(1.5)
        return 200, {}, vllm_completion(MODEL, [('4', ln(0.9), {'4': ln(0.9)})])

    calls.clear()
    with served(slow) as stub:
        with pytest.raises(
            ServerError, match=f'{stub.url} failed on crop 0 after 1 retries: it did not answer in time'
        ):
            metric(stub.url, request_retries=1, request_timeout=0.5).assess([image()])
    assert len(calls) == 2


# --- secrets ---------------------------------------------------------------------------------------

KEY = 'sk-test-SECRET-4f1d8e2b9c7a6051'


def test_the_key_stays_out_of_options_repr_and_error_texts(monkeypatch):
    monkeypatch.setenv('LLMIQA_TEST_KEY', KEY)

    def echoing(body):  # a server that echoes the key back in an error
        return 500, {'Retry-After': '0'}, {'error': {'message': f'bad request from Bearer {KEY}'}}

    with served(echoing) as stub:
        m = metric(stub.url, api_key_env='LLMIQA_TEST_KEY', request_retries=0)
        with pytest.raises(ServerError) as caught:
            m.assess([image()])
    texts = [str(caught.value), repr(caught.value), repr(m), repr(m.engine), str(m.options), str(m.options.to_dict())]
    assert all(KEY not in text for text in texts)
    assert '[key]' in str(caught.value)


def test_a_missing_key_variable_is_named(monkeypatch):
    monkeypatch.delenv('LLMIQA_UNSET_KEY', raising=False)
    with served(answering()) as stub:
        with pytest.raises(OptionError, match="'api_key_env': the environment variable LLMIQA_UNSET_KEY is not set"):
            metric(stub.url, api_key_env='LLMIQA_UNSET_KEY')


# --- bench: keys, failed images retried on resume, no key in any output ------------------------------


@pytest.fixture
def tiny_dataset(tmp_path):
    """Five small images with MOS 1..5."""
    import csv

    import yaml

    root = tmp_path / 'set'
    (root / 'images').mkdir(parents=True)
    rows = [('img_name', 'mos')]
    for i in range(5):
        image(i, (48, 36)).save(root / 'images' / f'im{i}.png')
        rows.append((f'im{i}.png', i + 1))
    with open(root / 'meta.csv', 'w', newline='') as handle:
        csv.writer(handle).writerows(rows)
    options = {
        'tinyset': {
            'name': 'TinySet',
            'type': 'GeneralNRDataset',
            'dataroot_target': str(root / 'images'),
            'meta_info_file': str(root / 'meta.csv'),
        }
    }
    (root / 'set.yml').write_text(yaml.safe_dump(options))
    return root / 'set.yml'


def bench(dataset, url, out, *extra):
    from pyiqa_llmiqa.cli import main as cli

    args = ['bench', '--dataset', str(dataset), '--metrics', 'llmiqa_global', '--out', str(out), '--device', 'cpu']
    args += ['--opt', f'backbone={MODEL}', '--opt', 'engine=openai', '--opt', f'server_url={url}', *extra]
    return cli.main(args)


def key_at(url):
    from pyiqa_llmiqa.bench.metrics import metric_spec

    return metric_spec('llmiqa_global', {'engine': 'openai', 'server_url': url, 'backbone': MODEL}).key({})


def test_bench_keys_name_engine_url_and_served_model_and_failed_images_are_retried(tiny_dataset, tmp_path):
    from pyiqa_llmiqa.bench.store import read_records

    seen, failing = [], {'on': True}

    def reply(body):  # the second image seen fails with 503 while 'on'
        uri = body['messages'][1]['content'][0]['image_url']['url']
        if uri not in seen:
            seen.append(uri)
        if failing['on'] and len(seen) > 1 and uri == seen[1]:
            return 503, {'Retry-After': '0'}, {'error': {'message': 'overloaded'}}
        level = str(1 + seen.index(uri) % 7)
        return 200, {}, vllm_completion(MODEL, [(level, ln(0.9), {level: ln(0.9)})])

    out = tmp_path / 'out'
    with served(reply, root='/models/qwen2.5-vl-7b') as stub:
        assert bench(tiny_dataset, stub.url, out, '--opt', 'request_retries=1') == 0
        (results,) = (out / 'predictions' / 'tinyset').glob('llmiqa_global-*.jsonl')
        records = {r['image']: r for r in read_records(results)}
        failed = [r for r in records.values() if 'error' in r]
        assert len(failed) == 1 and failed[0]['retry'] and stub.url in failed[0]['error']
        described = json.loads(results.with_suffix('.options.json').read_text())
        assert described['options']['engine'] == 'openai' and described['options']['server_url'] == stub.url
        assert described['served'] == {'id': MODEL, 'root': '/models/qwen2.5-vl-7b'}

        failing['on'] = False  # the same command again: the failed image is scored, the others kept
        asked = len(stub.completions())
        assert bench(tiny_dataset, stub.url, out) == 0
        assert len(stub.completions()) == asked + 1
        assert all('score' in r for r in read_records(results))

        assert key_at(stub.url) in results.name
        with served(reply) as elsewhere:  # another server: another key
            assert key_at(elsewhere.url) != key_at(stub.url)
        stub.root = '/models/other-weights'  # the same name and URL for other weights: another key
        assert key_at(stub.url) not in results.name


def test_no_output_of_a_bench_run_holds_the_key(tiny_dataset, tmp_path, monkeypatch, caplog, capsys):
    import logging
    from pathlib import Path

    monkeypatch.setenv('LLMIQA_TEST_KEY', KEY)
    caplog.set_level(logging.DEBUG)  # the openai client's and httpx's own logs too
    calls = []

    def reply(body):  # one image fails with a message that echoes the key, the others are scored
        calls.append(1)
        if len(calls) == 2:
            return 500, {'Retry-After': '0'}, {'error': {'message': f'denied for {KEY}'}}
        return 200, {}, vllm_completion(MODEL, [('5', ln(0.7), {'5': ln(0.7), '4': ln(0.2)})])

    out = tmp_path / 'out'
    with served(reply) as stub:
        code = bench(tiny_dataset, stub.url, out, '--opt', 'api_key_env=LLMIQA_TEST_KEY', '--opt', 'request_retries=0')
        assert code == 0
        assert {h.get('authorization') for _, h, _ in stub.requests} == {f'Bearer {KEY}'}  # the key was used
    files = [path for path in Path(out).rglob('*') if path.is_file()]
    assert {'report.html', 'run.json', 'table.md'} <= {path.name for path in files}
    assert any(path.name.endswith('.options.json') for path in files)
    for path in files:
        assert KEY.encode() not in path.read_bytes(), path
    printed = capsys.readouterr()
    assert 'failed' in printed.err  # the failure was reported
    for text in (printed.out, printed.err, caplog.text):
        assert KEY not in text
