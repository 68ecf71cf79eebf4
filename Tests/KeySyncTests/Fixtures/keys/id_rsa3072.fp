3072 SHA256:Jll+tGf9miBvBwJRSzb53FhoVi+hk75gbM5H7io7N4k id_rsa3072@keysync-test (RSA)
