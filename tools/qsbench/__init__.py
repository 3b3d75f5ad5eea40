"""
The benchmarks of the series (stock vs patched qcow2, side by side), as one
Python tool: tools/bench.py is the command, this package the rows and the
report.  Modules:

  env     paths of the clone and its builds, logging, the source images
  stats   pairs, medians, confidence intervals
"""
