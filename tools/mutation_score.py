"""Summarise ``mutmut results --all true`` (stdin) per module: killed, survived, score.

A mutant counts as killed when a test failed or timed out on it; ``no tests`` (no selected test
calls the function) counts as survived; ``not checked`` (outside the group just run) is left out.
"""

import sys
from collections import Counter, defaultdict

KILLED = {'killed', 'timeout'}
SURVIVED = {'survived', 'no tests'}

counts = defaultdict(Counter)
survivors = []
for line in sys.stdin:
    name, _, status = line.strip().rpartition(': ')
    if status in KILLED | SURVIVED:
        module = name.split('.x_')[0].split('.xǁ')[0]
        counts[module][status in KILLED] += 1
        if status in SURVIVED:
            survivors.append(f'{name}: {status}')
total = Counter()
print(f'{"module":40} {"killed":>7} {"survived":>8} {"score":>6}')
for module in sorted(counts):
    killed, survived = counts[module][True], counts[module][False]
    total.update(counts[module])
    print(f'{module:40} {killed:7} {survived:8} {killed / (killed + survived):6.1%}')
killed, survived = total[True], total[False]
if killed + survived:
    print(f'{"all":40} {killed:7} {survived:8} {killed / (killed + survived):6.1%}')
print('\nsurvivors (mutmut show NAME prints the change):')
print('\n'.join(survivors) or 'none')
