1024 SHA256:ptJVCavdj3F7uEV02h7nuPpakV0odl/MChVNnnkBmv8 id_rsa1024@keysync-test (RSA)
