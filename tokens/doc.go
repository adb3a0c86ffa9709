// Package tokens resolves the token of a WebSocket request to its target,
// as websockify's token plugins do (--token-plugin, --token-source).
//
// New takes the reference's class names, bare or in full
// (websockify.token_plugins.TokenFile):
//
//   - TokenFile: a file of "token: host:port" lines, or a directory of such
//     files; reloaded when a file changes (stat per lookup, no watcher).
//     Replace files atomically (write a new file, then rename it over the
//     old one): a lookup may otherwise read a half-written file.
//   - ReadOnlyTokenFile: the same, read once at startup.
//   - TokenFileName: the file DIR/TOKEN holds "host:port".
//   - UnixDomainSocketDirectory: DIR/TOKEN is a Unix socket to connect to.
//   - BaseTokenAPI, JSONTokenApi: GET a URL template with one %s; the body
//     is "host:port", or JSON {"host": ..., "port": ...}.
//   - JWTTokenApi: the token is a signed JWT (JWS), possibly nested in an
//     encrypted JWE, with the claims host, port, nbf and exp.
//   - TokenRedis: GET [namespace:]token from Redis; the value is
//     {"host": "host:port"} or plain host:port.
//
// Targets are host:port (an IPv6 host with or without brackets, split at
// the last colon) or, with the reference's marker host, unix_socket:PATH.
//
// Where this package deliberately differs from the reference:
//   - Tokens that name files (TokenFileName, UnixDomainSocketDirectory) must
//     be one clean name (CheckName); the directory is opened as an os.Root,
//     so neither "..", separators nor symlinks lead outside it.
//   - The API plugins escape the token for its place in the URL: with
//     url.QueryEscape after the '?', url.PathEscape before it; a template
//     with %s in the host or fragment is refused at startup. Requests time
//     out after DefaultAPITimeout; bodies over MaxAPIResponse are refused;
//     a 4xx answer means "not found", a 5xx a failed lookup.
//   - JWTTokenApi allows only the algorithms of the key file's kind (RSA:
//     RS*, PS*; EC: ES* of its curve; Ed25519: EdDSA; symmetric: HS*), never
//     "none"; a JWE needs a private or symmetric key (RSA-OAEP*, ECDH-ES*,
//     dir, A*KW, A*GCMKW; no PBES2) and must hold a JWS signed with the same
//     key. Tokens over MaxJWTLength are refused before parsing. exp and nbf
//     allow Options.JWTLeeway of clock skew (DefaultJWTLeeway).
//   - TokenRedis uses one pooled client with short timeouts, and reads the
//     password from EnvRedisPassword or the file named by
//     EnvRedisPasswordFile as an alternative to the source string.
//   - Bad configuration (missing file or directory, bad key, bad URL
//     template, bad Redis source) is an error from New, not a failure of
//     every lookup.
//
// Lookup errors separate unknown tokens (ErrNotFound), refused tokens
// (ErrInvalidToken) and backend failures (anything else). Tokens are
// logged only through Redact.
package tokens
