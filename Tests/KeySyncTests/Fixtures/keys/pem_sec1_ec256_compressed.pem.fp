256 SHA256:+PGT+voXu3lnsc6mU7rVubNf4mbLs4/Ywm5DBB44PxU pem_sec1_ec256_compressed.pem (ECDSA)
