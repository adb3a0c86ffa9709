// websock.js: a WebSocket with a receive queue, for protocols that read
// bytes (VNC, telnet) rather than messages. An ES module with no
// dependencies; the modern form of the original websockify's Websock.
//
//   import { Websock } from './websock.js';
//   const ws = new Websock();
//   ws.on('open', () => ws.sendString('hello\r\n'));
//   ws.on('message', () => {
//     if (ws.rQwait('header', 4)) return;     // wait for 4 bytes
//     const len = ws.rQshift32();
//     if (ws.rQwait('body', len, 4)) return;  // not all there: put the 4 back
//     console.log(ws.rQshiftStr(len));
//   });
//   ws.open('ws://host:6080/websockify');
//
// Data is sent and received as binary frames by default. If the server
// chooses the "base64" subprotocol (open(uri, ['base64'])), frames are
// base64 text both ways; the queue hides the difference.
//
// Events (on(name, fn) or addEventListener(name, fn)):
//   open     the connection is open; ws.protocol is the chosen subprotocol
//   message  bytes were appended to the receive queue (read them with rQ*)
//   close    the connection ended; the event has code, reason, wasClean
//   error    a WebSocket error (a close event follows)
//
// Receive queue: rQlen() bytes are waiting. rQshift8/16/32 take a big-endian
// unsigned integer, rQshiftStr(n) n bytes as a Latin-1 string (each byte one
// character), rQshiftBytes(n) a Uint8Array copy, rQpeek8() looks without
// taking, rQskipBytes(n) drops n bytes. Every read of more bytes than are
// queued throws a RangeError: call rQwait(what, n, goback) first, which
// returns true (and rewinds goback bytes) when fewer than n are queued.

export class Websock extends EventTarget {
  constructor() {
    super();
    this._ws = null;
    this._rQ = new Uint8Array(4096);
    this._rQi = 0; // read index
    this._rQlen = 0; // end of valid data
    this._mode = 'binary';
    this._handlers = {};
  }

  // on sets the single handler for an event (open, message, close, error),
  // replacing the previous one; use addEventListener for several.
  on(evt, handler) {
    if (this._handlers[evt]) this.removeEventListener(evt, this._handlers[evt]);
    this._handlers[evt] = handler;
    if (handler) this.addEventListener(evt, handler);
  }

  // open connects to uri. protocols is a string or array of subprotocols;
  // by default none is offered and the server sends binary frames.
  open(uri, protocols) {
    this.close();
    this._rQi = this._rQlen = 0;
    const ws = protocols === undefined ? new WebSocket(uri) : new WebSocket(uri, protocols);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      this._mode = ws.protocol === 'base64' ? 'base64' : 'binary';
      this.dispatchEvent(new Event('open'));
    };
    ws.onmessage = (e) => this._recvMessage(e);
    ws.onclose = (e) => {
      if (this._ws === ws) this._ws = null;
      const ev = new Event('close');
      Object.assign(ev, { code: e.code, reason: e.reason, wasClean: e.wasClean });
      this.dispatchEvent(ev);
    };
    ws.onerror = () => this.dispatchEvent(new Event('error'));
    this._ws = ws;
  }

  // close closes the connection (code 1000) if it is open or opening.
  close(code = 1000, reason = '') {
    const ws = this._ws;
    if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) {
      ws.close(code, reason);
    }
  }

  get readyState() { return this._ws ? this._ws.readyState : WebSocket.CLOSED; }
  get protocol() { return this._ws ? this._ws.protocol : ''; }

  // send sends bytes: a Uint8Array, an ArrayBuffer or an array of numbers
  // 0..255, as one frame (base64 text in base64 mode).
  send(data) {
    if (!this._ws || this._ws.readyState !== WebSocket.OPEN) {
      throw new Error('websock: not open');
    }
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    this._ws.send(this._mode === 'base64' ? encodeBase64(bytes) : bytes);
  }

  // sendString sends a string as UTF-8.
  sendString(str) { this.send(new TextEncoder().encode(str)); }

  rQlen() { return this._rQlen - this._rQi; }

  rQpeek8() { this._need(1); return this._rQ[this._rQi]; }

  rQshift8() { this._need(1); return this._rQ[this._rQi++]; }

  rQshift16() {
    this._need(2);
    const q = this._rQ, i = this._rQi;
    this._rQi += 2;
    return (q[i] << 8) | q[i + 1];
  }

  rQshift32() {
    this._need(4);
    const q = this._rQ, i = this._rQi;
    this._rQi += 4;
    return ((q[i] << 24) | (q[i + 1] << 16) | (q[i + 2] << 8) | q[i + 3]) >>> 0;
  }

  // rQshiftStr takes len bytes (all queued ones when omitted) as a string
  // with one character per byte (Latin-1).
  rQshiftStr(len = this.rQlen()) {
    const b = this._take(len);
    let s = '';
    for (let i = 0; i < b.length; i += 4096) {
      s += String.fromCharCode.apply(null, b.subarray(i, i + 4096));
    }
    return s;
  }

  // rQshiftBytes takes len bytes (all queued ones when omitted) as a new
  // Uint8Array.
  rQshiftBytes(len = this.rQlen()) { return this._take(len).slice(); }

  rQskipBytes(len) { this._take(len); }

  // rQwait reports whether the caller must wait: true when fewer than num
  // bytes are queued, after moving the read position back by goback bytes
  // (the ones the caller already took for this message).
  rQwait(msg, num, goback = 0) {
    if (this.rQlen() >= num) return false;
    if (goback) {
      if (this._rQi < goback) throw new RangeError(`websock: rQwait(${msg}) cannot go back ${goback} bytes`);
      this._rQi -= goback;
    }
    return true;
  }

  _need(n) {
    if (this.rQlen() < n) throw new RangeError(`websock: ${n} bytes wanted, ${this.rQlen()} queued`);
  }

  _take(len) {
    this._need(len);
    const b = this._rQ.subarray(this._rQi, this._rQi + len);
    this._rQi += len;
    return b;
  }

  // _recvMessage appends a message event's data to the queue and fires
  // "message". Exposed for tests.
  _recvMessage(e) {
    const bytes = typeof e.data === 'string' ? decodeBase64(e.data) : new Uint8Array(e.data);
    this._append(bytes);
    if (this.rQlen() > 0) this.dispatchEvent(new Event('message'));
  }

  _append(bytes) {
    const live = this._rQlen - this._rQi;
    if (this._rQlen + bytes.length > this._rQ.length) {
      // Compact, growing when the live bytes and the new ones do not fit.
      let size = this._rQ.length;
      while (live + bytes.length > size) size *= 2;
      if (size === this._rQ.length) {
        this._rQ.copyWithin(0, this._rQi, this._rQlen);
      } else {
        const q = new Uint8Array(size);
        q.set(this._rQ.subarray(this._rQi, this._rQlen));
        this._rQ = q;
      }
      this._rQi = 0;
      this._rQlen = live;
    }
    this._rQ.set(bytes, this._rQlen);
    this._rQlen += bytes.length;
  }
}

export function encodeBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 4096));
  }
  return btoa(s);
}

export function decodeBase64(str) {
  const s = atob(str);
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}
