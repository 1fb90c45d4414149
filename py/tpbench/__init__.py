"""tpbench's Python results library (py/README.md).

- schema: the fields of a benchmark entry (written by the binaries; the one name-parsing
  fallback for older files), the metric lists, the schema version
- results: reading results and baselines for the gate, baseline metadata, merging a sweep's
  parts, atomic writes and user paths
- stats: the statistics of a timing comparison and of a whole run (outliers, robust and core
  CVs, the large-effect rule, drift-shifted Mann-Whitney, Benjamini-Hochberg)
- mannwhitney: the Mann-Whitney U test (exact and normal approximation)
- collectives: the collective table (bench/collectives.json): names, bus factors
"""
