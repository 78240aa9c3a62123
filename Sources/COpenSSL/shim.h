#ifndef FERRY_COPENSSL_SHIM_H
#define FERRY_COPENSSL_SHIM_H

// OpenSSL 3's libcrypto (Debian's libssl-dev), for the digests FerryCore makes: SHA-256, MD5 and
// HMAC-SHA256, in a library context of Ferry's own. Only interfaces OpenSSL 3 does not deprecate.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#endif
