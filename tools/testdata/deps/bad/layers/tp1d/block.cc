// Violation fixture: layers/ includes bench/ (line 5); comments and system headers do not count.
#include <vector>

// #include "bench/harness.h"
#include "bench/flags.h"
#include "patterns/registry.h"
