"""
The benchmarks of the series (stock vs patched qcow2, side by side), as one
Python tool: tools/bench.py is the command, this package the rows and the
report.  Modules:

  env     paths of the clone and its builds, logging, the source images,
          the machine (description, load, busy processes), running and
          ending commands (run_timed, stop_process), checksums
  stats   pairs, medians, confidence intervals, and their formatting
  report  the report of the hot rows, and what every report shares:
          markdown tables, SVG, env.sh of kept directories, callgrind_annotate
  hot, qd, ccache, mq, readme
          the benchmarks (tools/bench.py GROUP), each using the three above
"""
