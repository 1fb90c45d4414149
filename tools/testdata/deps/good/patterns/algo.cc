// Legal: patterns/ includes comm/.
#include "comm/p2p.h"
#include "patterns/registry.h"
