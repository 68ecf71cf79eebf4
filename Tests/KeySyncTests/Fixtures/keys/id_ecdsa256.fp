256 SHA256:kuafH9/OUW4cZe6xhsPN+KIYyBwxL5oSKceNZrb0ll4 id_ecdsa256@keysync-test (ECDSA)
