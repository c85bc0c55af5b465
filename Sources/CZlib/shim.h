// The system zlib (Debian: zlib1g-dev), for gzip decompression of datasets (MNIST's .gz files).
#include <zlib.h>
