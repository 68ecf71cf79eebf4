#ifndef KEYSYNC_COPENSSL_SHIM_H
#define KEYSYNC_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/pem.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/ec.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <openssl/bio.h>
#include <openssl/rand.h>
#include <openssl/hmac.h>

/* EVP_PKEY_KEYPAIR is a composite macro Swift cannot import. */
static const int KEYSYNC_EVP_PKEY_KEYPAIR = EVP_PKEY_KEYPAIR;
#endif
