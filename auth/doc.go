// Package auth decides whether a WebSocket request (and, with --web-auth, a
// static file request) may proceed, as websockify's auth plugins do
// (--auth-plugin, --auth-source).
//
// New takes the reference's class names, bare or in full
// (websockify.auth_plugins.BasicHTTPAuth):
//
//   - BasicHTTPAuth: source "user:password". No credentials or wrong ones
//     give 401 with WWW-Authenticate: Basic realm="Websockify"; a header
//     that is not Basic, not base64 or has no colon gives 403. Credentials
//     are compared in constant time over SHA-256 digests. The source may be
//     left empty and the credentials given in EnvBasicAuth or in the file
//     named by EnvBasicAuthFile instead.
//   - ExpectOrigin: source is a whitespace-separated list of origins; the
//     request's single Origin header must be one of them, else 403 with the
//     reason "Invalid Origin". Several Origin headers are refused.
//   - ClientCertCNAuth: source is a whitespace-separated list of common
//     names; the CN of the client's verified TLS certificate must be one of
//     them, else 403. The identity is read only from
//     Request.TLS.VerifiedChains, never from headers, so the reference's
//     SSL_CLIENT_S_DN_CN spoofing (its case-sensitive header stripping)
//     cannot happen. NeedsClientCert tells the server to require verified
//     client certificates.
//
// A refusal is an *Error carrying the status, reason, headers and log text
// of the HTTP response. A source with which no request could pass (empty
// lists, credentials without a colon) is an error from New.
package auth
