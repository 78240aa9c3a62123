#ifndef FERRY_COPENSSL_SHIM_H
#define FERRY_COPENSSL_SHIM_H

// OpenSSL's libcrypto (Debian's libssl-dev), for the digests FerryCore makes: SHA-256, MD5 and
// HMAC-SHA256. Only the EVP and one-shot HMAC interfaces, none of those OpenSSL 3 deprecates.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#endif
