// Package webui holds websockify's built-in browser pages, embedded in the
// binary and served by --web-builtin:
//
//   - websock.js, a small ES module wrapping a WebSocket with a receive
//     queue (the Websock library of the original websockify);
//   - wstelnet.html, a telnet client (option negotiation, NAWS,
//     TERMINAL-TYPE) on an xterm.js terminal;
//   - echo.html, a diagnostic page that sends text and shows what comes back.
//
// The files live in static/. xterm.js is a release artifact copied from npm
// (webui/package.json, `make webui-assets`) and committed with its licence,
// so `go build` needs no npm.
package webui
