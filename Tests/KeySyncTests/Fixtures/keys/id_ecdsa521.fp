521 SHA256:qlmjyTbhGhylBD67hpFnX71l9GHt/P/E0E8QruYEZHE id_ecdsa521@keysync-test (ECDSA)
