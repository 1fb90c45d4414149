// Legal: layers/ includes patterns/ and comm/.
#include "comm/communicator.h"
#include "patterns/registry.h"
