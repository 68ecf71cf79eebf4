2048 SHA256:brsgjNaiCuaH7s9Ab/jtxtajyGfCJioaoRFtoLMJHhY id_rsa2048@keysync-test (RSA-CERT)
