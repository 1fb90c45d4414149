// Violation fixture: patterns/ includes layers/ (line 3).
#include "comm/p2p.h"
#include "layers/tensor.h"
