#include "CKeySyncVersion.h"

#include <stddef.h>

// A C file, not Swift: a C define can carry a string, a Swift `-D` cannot.
// Only this file sees KEYSYNC_VERSION, so a new version recompiles this one
// file and relinks, nothing else.
const char *keysync_baked_version(void) {
#ifdef KEYSYNC_VERSION
    return KEYSYNC_VERSION;
#else
    return NULL;
#endif
}
