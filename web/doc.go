// Package web is websockify's small static file server (--web DIR), served
// on the same port as the WebSocket gateway for requests that are not
// upgrades.
//
// It answers GET and HEAD as the reference's SimpleHTTPRequestHandler does:
// files with their MIME type, Content-Length and Last-Modified,
// If-Modified-Since → 304, index.html or index.htm for a directory, a 301 to
// "path/" for a directory named without its trailing slash, and otherwise an
// HTML listing (404 with FileOnly). POST, PUT, PATCH, DELETE and OPTIONS get
// 405 with Allow, other methods 501.
//
// Unlike the reference it is safe to point at a directory that holds more
// than public files: every file is opened through an os.Root, so neither
// ".." nor a symbolic link can leave the directory; names starting with a
// dot are never served nor listed; only regular files are served; and a
// redirect's Location always starts with a single "/".
//
// The Handler needs nothing from net/http's server: it only sets headers,
// calls WriteHeader and writes a body whose length it announces, so it
// works with the gateway's minimal response writer.
package web
