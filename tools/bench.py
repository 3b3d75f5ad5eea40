#!/usr/bin/python3
"""
The benchmarks of the series, stock vs patched qcow2:

    tools/bench.py GROUP [ARGS...]

    hot     the rows of docs/benchmarks.md (qemu-img bench, callgrind,
            NBD discard mix, convert); environment BENCH_*
    report  DIR [OUT]: write docs/benchmarks.md again from kept raw results
    readme  [BENCHMARKS_MD [README]]: copy its tables into README.md
    qd      instructions per operation against the queue depth
    ccache  the compressed write cache
    mq      the multiqueue row

Each group is the module qsbench.GROUP, imported only when asked for (so
that one group's missing module or dependency does not stop the others).
"""
import importlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

GROUPS = ('hot', 'report', 'readme', 'qd', 'ccache', 'mq')


def main(argv):
    if not argv or argv[0] not in GROUPS:
        sys.stderr.write(__doc__.lstrip())
        return 2
    name = 'qsbench.' + argv[0]
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name != name:
            raise
        print('[bench.py] error: group %s is not there yet (no %s)'
              % (argv[0], name.replace('.', '/') + '.py'), file=sys.stderr)
        return 1
    return module.main(argv[1:])


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
