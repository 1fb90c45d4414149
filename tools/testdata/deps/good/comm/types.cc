// Legal: comm/ includes comm/ only.
#include "comm/types.h"
