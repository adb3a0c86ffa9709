// Package sessions is session control on top of the gateway's session
// registry: the admin API that lists and ends sessions (api.go), the
// client of that API behind "websockify sessions" (client.go), revocation
// of sessions whose token no longer leads to their target (revoke.go) and
// the fleet registry in Redis (fleet.go).
package sessions
