package auth

import (
	"errors"
	"net/http"
	"slices"
	"strings"
)

// clientCertCNAuth is ClientCertCNAuth: the common name of the client's
// verified TLS certificate must be one of the source's whitespace-separated
// names (so, as in the reference, a name cannot contain whitespace).
type clientCertCNAuth struct {
	names []string
}

func newClientCertCNAuth(source string, o Options) (Plugin, error) {
	names := strings.Fields(source)
	if len(names) == 0 {
		return nil, errors.New("a whitespace-separated list of certificate common names is required")
	}
	return &clientCertCNAuth{names: names}, nil
}

// Authenticate takes the identity only from the leaf of the first verified
// chain: a certificate the server did not verify, and any request header,
// count for nothing.
func (c *clientCertCNAuth) Authenticate(r *Request) error {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return &Error{Status: http.StatusForbidden, Log: "no verified client certificate"}
	}
	cn := r.TLS.VerifiedChains[0][0].Subject.CommonName
	if cn == "" || !slices.Contains(c.names, cn) {
		return &Error{Status: http.StatusForbidden, Log: "client certificate CN '" + quoteLog(cn) + "' not allowed"}
	}
	return nil
}
