// Package tlsconfig builds the TLS configurations of websockify: the server
// side of wss:// and https:// (--cert, --key, --key-password, --ssl-version,
// --ssl-ciphers, --verify-client, --cafile) and the client side used towards
// the target (--ssl-target).
//
// Certificates and keys are read from PEM files the way OpenSSL's
// load_cert_chain reads them: the certificate file holds the server
// certificate, then its intermediates, and may hold the private key too; a
// separate key file may be given instead. Keys may be unencrypted (PKCS#1,
// SEC 1 or PKCS#8), encrypted in the traditional OpenSSL way
// ("Proc-Type: 4,ENCRYPTED") or encrypted PKCS#8 (PBES2 with PBKDF2 and AES
// or 3DES, OpenSSL's default since 1.1).
//
// A Reloader serves the certificate through tls.Config.GetCertificate and
// reloads it when the files change (checked at most once per CheckInterval,
// during handshakes) or when Reload is called, for example on SIGHUP. A failed
// reload keeps the previous certificate and logs the error, so open and new
// sessions are never dropped because of a half-written file.
//
// OpenSSL cipher names (--ssl-ciphers) are mapped to Go's cipher suites by
// ParseCiphers. Names Go does not implement are an error that names them.
// TLS 1.3 suites are not configurable in Go: they are accepted in the list
// and always enabled.
package tlsconfig
