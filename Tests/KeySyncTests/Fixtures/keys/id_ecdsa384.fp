384 SHA256:3rYCh/JvwrFrsdoeUkMlIdUcq+vRi1P3ad6wDAn94Xs id_ecdsa384@keysync-test (ECDSA)
