"""Pairs, medians and their confidence intervals, for every row, and how
the reports write them."""
import collections
import math

RatioStats = collections.namedtuple('RatioStats', 'median overhead ci')


def mean(xs):
    return sum(xs) / len(xs)


def median(xs):
    ys = sorted(xs)
    n = len(ys)
    if n == 0:
        return float('nan')
    return ys[n // 2] if n % 2 else (ys[n // 2 - 1] + ys[n // 2]) / 2


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


def pairs_by_row(results):
    """results: (row, pair, impl, value) tuples, values as text (results.tsv)
    -> {row: {pair number: {impl: value}}}, in the order of results."""
    out = {}
    for row, pair, impl, v in results:
        out.setdefault(row, {}).setdefault(int(pair), {})[impl] = float(v)
    return out


def pair_ratios(pairs, num='patched', den='stock'):
    """pairs: a list of {impl: value} dicts; the num/den ratio of each
    complete pair, sorted."""
    return sorted(p[num] / p[den] for p in pairs if num in p and den in p)


def ci_width_points(ratios):
    """Width of the 95% CI of the median overhead of higher-is-better
    ratios, in percentage points (inf while there is no interval)."""
    lo, hi = median_ci(ratios)
    if lo != lo:
        return float('inf')
    return (1 / lo - 1 / hi) * 100


def ratio_stats(ratios, better):
    """The median of patched/stock ratios and the overhead it means, in
    percent (> 0 when patched is worse, whichever way is better), with
    the 95% confidence interval of that overhead (NaNs for too few)."""
    mr = median(ratios)
    lo, hi = median_ci(ratios)
    if better == 'higher':
        return RatioStats(mr, (1 / mr - 1) * 100,
                          ((1 / hi - 1) * 100, (1 / lo - 1) * 100))
    return RatioStats(mr, (mr - 1) * 100, ((lo - 1) * 100, (hi - 1) * 100))


def median_range(xs, f):
    """"median (min-max)" of xs, every number formatted by f."""
    return '%s (%s-%s)' % (f(median(xs)), f(min(xs)), f(max(xs)))


def ci_text(ci, form, missing):
    """A confidence interval (lo, hi) formatted with form, or the text
    missing where there is none (NaNs: too few values)."""
    return missing if math.isnan(ci[0]) else form % ci
