2048 SHA256:hQ04ZpavdU1Y2+30hipTplfvgIp9vJSjif1QrtBrQyI pem_pkcs1_rsa.pem (RSA)
