#ifndef CKEYSYNCVERSION_H
#define CKEYSYNCVERSION_H

/// The version Scripts/package and Scripts/install bake in at build time
/// (`KEYSYNC_BUILD_VERSION` in the environment of `swift build`, turned into
/// a C define by Package.swift), or NULL for a plain `swift build`.
const char *keysync_baked_version(void);

#endif
