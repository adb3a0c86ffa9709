// Package registry holds the name-to-constructor registry that the auth and
// tokens packages share: each looks a plugin up by the reference's class
// name, short (TokenFile) or in full (websockify.token_plugins.TokenFile),
// and builds it for the --*-source value.
package registry
