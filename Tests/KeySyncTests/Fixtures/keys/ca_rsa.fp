2048 SHA256:W0gwo05wNrOmOXqIGSDX8w3TKS2XQ4nZhuHEtx+6cas ca_rsa@keysync-test (RSA)
