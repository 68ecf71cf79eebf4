1024 SHA256:dQbAIN9kS1AbqWhyC5VSyVx7tjiUnABjefClRtJp9bc id_dsa@keysync-test (DSA)
