// Violation fixture: comm/ includes patterns/ (line 3).
#include "comm/types.h"
#include "patterns/registry.h"
