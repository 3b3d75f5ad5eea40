"""
The distribution-free 95% confidence interval of a median, shared by
tools/bench-report.sh (the report) and tools/bench.sh (when to stop
adding pairs to a row).

As a program: median_ci.py RESULTS ROW LIMIT exits 0 while the interval of
ROW's median patched/stock ratio (a higher-is-better row of RESULTS, the
results.tsv of tools/bench.sh) is wider than LIMIT percentage points of
overhead, 1 once it is not.
"""
import math
import sys


def median_ci(xs):
    """
    The order statistics whose ranks the binomial(n, 1/2) distribution puts
    around the middle with at least 95% probability between them; NaNs for
    fewer than 6 values (no such interval exists).
    """
    n = len(xs)
    ys = sorted(xs)
    for k in range(n // 2, -1, -1):
        # P(X_(k+1) <= median < X_(n-k)) = sum_{i=k+1}^{n-k-1} C(n,i)/2^n
        p = sum(math.comb(n, i) for i in range(k + 1, n - k)) / 2 ** n
        if p >= 0.95:
            return (ys[k], ys[n - k - 1])
    return (float('nan'), float('nan'))


def main(res, row, limit):
    pairs = {}
    for line in open(res):
        r, i, impl, v = line.rstrip('\n').split('\t')
        if r == row:
            pairs.setdefault(i, {})[impl] = float(v)
    ratios = sorted(p['patched'] / p['stock'] for p in pairs.values() if len(p) == 2)
    lo, hi = median_ci(ratios)
    width = (1 / lo - 1 / hi) * 100 if lo == lo else float('inf')
    print('%s: %d pairs, median ratio %.4f, 95%% CI %.4f..%.4f (%.2f points)'
          % (row, len(ratios), ratios[len(ratios) // 2], lo, hi, width),
          file=sys.stderr)
    return 0 if width > limit else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
