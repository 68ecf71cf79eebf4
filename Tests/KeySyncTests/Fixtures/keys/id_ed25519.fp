256 SHA256:pRKqBlZmp8P7o+nTscI6l3rX+/u+rwghpNMSpiXUclA id_ed25519@keysync-test (ED25519)
