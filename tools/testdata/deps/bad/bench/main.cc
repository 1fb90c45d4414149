// Legal: bench/ may include every layer.
#include "comm/world.h"
#include "layers/tensor.h"
#include "patterns/registry.h"
