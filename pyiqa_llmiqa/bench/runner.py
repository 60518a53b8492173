"""Scoring every image of every data set with every metric, resumably, over one or more processes."""

import gc
import sys
from pathlib import Path
from typing import Callable, List, Optional

from pyiqa_llmiqa.bench.datasets import BenchDataset, Item
from pyiqa_llmiqa.bench.metrics import MetricSpec
from pyiqa_llmiqa.bench.processes import Processes
from pyiqa_llmiqa.bench.progress import progress
from pyiqa_llmiqa.bench.store import ResultStore
from pyiqa_llmiqa.errors import ServerError
from pyiqa_llmiqa.inputs.images import ImageLoadError, load_image


def result_store(out: Path, spec: MetricSpec, dataset: BenchDataset) -> ResultStore:
    """Where the results of ``spec`` on ``dataset`` live."""
    return ResultStore(Path(out) / 'predictions' / dataset.name, f'{spec.name}-{spec.key(dataset.augment)}')


def score_item(score: Callable, item: Item, transform: Callable) -> dict:
    """The record of one image: its score, or why it has none."""
    entry = {'image': item.name, 'mos': item.mos}
    try:
        entry.update(score(transform(load_image(item.path))))
    except ImageLoadError as error:
        entry['error'] = str(error)
    except ServerError as error:  # the server failed, not the image: a resumed run tries it again
        entry.update(error=str(error), retry=True)
    except Exception as error:  # one image's failure is recorded; the run goes on
        entry['error'] = f'{type(error).__name__}: {error}'
    return entry


def run(
    specs: List[MetricSpec],
    datasets: List[BenchDataset],
    out: Path,
    processes: Processes,
    device: Optional[str] = None,
    retry_failed: bool = False,
) -> None:
    """Score what is not finished yet; each process takes its shard and appends as it goes."""
    for spec in specs:
        score = None
        for dataset in datasets:
            store = result_store(out, spec, dataset)
            order = [item.name for item in dataset.items]
            if processes.is_main:
                store.merge(order)
                store.write_options(
                    {
                        'metric': spec.name,
                        'options': spec.options,
                        'augment': dataset.augment,
                        'key': spec.key(dataset.augment),
                        **({'served': spec.served} if spec.served else {}),
                    }
                )
            processes.barrier()
            # every process shards the same list: what the main process merged, not the parts that the
            # faster processes are already appending to
            merged = store.records(with_parts=False)
            finished = {name for name, r in merged.items() if 'score' in r or not (retry_failed or r.get('retry'))}
            todo = [item for item in dataset.items if item.name not in finished]
            if processes.is_main:
                print(
                    f'{spec.name} on {dataset.name}: {len(dataset.items) - len(todo)} of '
                    f'{len(dataset.items)} images already done',
                    file=sys.stderr,
                )
            mine = processes.shard(todo)
            if mine:
                score = score or spec.build(processes.device(device))
                transform = dataset.transform()
                failed = 0
                with (
                    store.appender(processes.rank) as append,
                    progress(mine, f'{spec.name} on {dataset.name}', processes.is_main) as bar,
                ):
                    for item in bar:
                        entry = score_item(score, item, transform)
                        append(entry)
                        failed += 'error' in entry
                        if failed:
                            bar.set_postfix(failed=failed)
            processes.barrier()
            if processes.is_main:
                store.merge(order)
        del score
        gc.collect()
