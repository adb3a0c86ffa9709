// Package record writes websockify session recordings (--record FILE).
//
// Each WebSocket session gets its own file, FILE.<id>, in the reference's
// format, which noVNC's playback tools read: a JavaScript array of strings
//
//	var VNC_frame_data = [
//	'}<ms>}<data from the client>',
//	'{<ms>{<data from the target>',
//	'EOF'];
//
// where <ms> counts milliseconds since the session began and the data is
// escaped as Python's unicode_escape codec does for latin-1 text, with '
// escaped too.
//
// Recordings hold everything the client typed, passwords included, so files
// are created with mode 0600 and O_EXCL: an existing file is never
// overwritten or followed through a symlink.
package record
