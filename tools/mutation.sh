#!/usr/bin/env bash
# Mutation score of the package's core modules (issue 11): mutmut mutates the functions of the files
# in setup.cfg's [mutmut] only_mutate and runs the fast tests listed there against each mutant.
#   pip install -e ".[dev]"; tools/mutation.sh                    # every core module (~25 min on 2 cores)
#   tools/mutation.sh 'pyiqa_llmiqa.scoring.fusion*' 'pyiqa_llmiqa.segment.regions*'   # one group of modules
# Results are kept in ./mutants (git-ignored): a second run re-tests only what changed;
# `mutmut show NAME` prints a survivor's diff. Prints killed / survived per module and the score.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
unset PYTHONPATH  # mutmut puts its mutated copy (./mutants) first on sys.path itself
mutmut run --max-children "${MUTATION_JOBS:-2}" "$@" > mutants-run.log 2>&1 || { tail -c 2000 mutants-run.log; exit 1; }
mutmut results --all true | python tools/mutation_score.py
