256 SHA256:hmmJkt4b7UVlChwUOAI6nS+b9XFlEpK6ZuoJCnsbGj0 sk_ecdsa@keysync-test (ECDSA-SK)
