// Legal: bench/ includes every layer.
#include "layers/tensor.h"
