// Violation fixture: comm/ includes patterns/ (line 4).
#include "comm/types.h"

#include "patterns/registry.h"
