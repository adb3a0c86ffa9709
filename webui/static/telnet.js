// telnet.js: the client side of telnet (RFC 854) option negotiation, as an
// ES module with no dependencies. Telnet.receive(bytes) strips the commands
// from what the server sent, answers them through send(bytes), and returns
// the data bytes for the terminal. Telnet.encode(string) turns keyboard
// input into telnet data (IAC doubled, a lone CR sent as CR NUL).
//
// Options: we agree to ECHO and SUPPRESS-GO-AHEAD from the server, and offer
// TERMINAL-TYPE (RFC 1091) and NAWS (window size, RFC 1073); everything else
// is refused (DONT / WONT), each option answered once per state change so
// negotiation cannot loop.

export const IAC = 255, DONT = 254, DO = 253, WONT = 252, WILL = 251,
  SB = 250, GA = 249, SE = 240, NOP = 241;
export const OPT_ECHO = 1, OPT_SGA = 3, OPT_TTYPE = 24, OPT_NAWS = 31;
const TTYPE_IS = 0, TTYPE_SEND = 1;

const weDo = new Set([OPT_TTYPE, OPT_NAWS, OPT_SGA]); // answers to DO
const theyDo = new Set([OPT_ECHO, OPT_SGA]); // answers to WILL

export class Telnet {
  // send(bytes) writes to the connection; termType is sent for
  // TERMINAL-TYPE; size() returns {cols, rows} for NAWS.
  constructor({ send, termType = 'xterm-256color', size = () => ({ cols: 80, rows: 24 }) }) {
    this._send = send;
    this.termType = termType;
    this._size = size;
    this._state = 'data';
    this._cmd = 0;
    this._sb = [];
    this.local = new Set(); // options we have enabled (WILL acknowledged)
    this.remote = new Set(); // options the server has enabled
    this.log = []; // negotiation, for diagnostics: ["recv DO 24", "sent WILL 24", ...]
  }

  // receive consumes bytes from the server and returns the data bytes.
  receive(bytes) {
    const out = [];
    for (const b of bytes) {
      switch (this._state) {
        case 'data':
          if (b === IAC) this._state = 'iac';
          else out.push(b);
          break;
        case 'iac':
          if (b === IAC) { out.push(IAC); this._state = 'data'; }
          else if (b === WILL || b === WONT || b === DO || b === DONT) { this._cmd = b; this._state = 'opt'; }
          else if (b === SB) { this._sb = []; this._state = 'sb'; }
          else this._state = 'data'; // GA, NOP and other commands: ignored
          break;
        case 'opt':
          this._negotiate(this._cmd, b);
          this._state = 'data';
          break;
        case 'sb':
          if (b === IAC) this._state = 'sbiac';
          else this._sb.push(b);
          break;
        case 'sbiac':
          if (b === SE) { this._subnegotiation(this._sb); this._state = 'data'; }
          else { if (b === IAC) this._sb.push(IAC); this._state = 'sb'; }
          break;
      }
    }
    return new Uint8Array(out);
  }

  // encode turns terminal input into telnet data bytes (UTF-8).
  encode(str) {
    const b = new TextEncoder().encode(str);
    const out = [];
    for (let i = 0; i < b.length; i++) {
      out.push(b[i]);
      if (b[i] === IAC) out.push(IAC);
      else if (b[i] === 13 && b[i + 1] !== 10) out.push(0);
    }
    return new Uint8Array(out);
  }

  // resized sends the new window size when NAWS is on.
  resized() {
    if (this.local.has(OPT_NAWS)) this._sendNAWS();
  }

  _cmdOut(cmd, opt) {
    this.log.push(`sent ${name(cmd)} ${opt}`);
    this._send(new Uint8Array([IAC, cmd, opt]));
  }

  _negotiate(cmd, opt) {
    this.log.push(`recv ${name(cmd)} ${opt}`);
    switch (cmd) {
      case DO:
        if (weDo.has(opt)) {
          if (!this.local.has(opt)) { this.local.add(opt); this._cmdOut(WILL, opt); }
          if (opt === OPT_NAWS) this._sendNAWS();
        } else if (!this._refusedLocal?.has(opt)) {
          (this._refusedLocal ??= new Set()).add(opt);
          this._cmdOut(WONT, opt);
        }
        break;
      case DONT:
        if (this.local.delete(opt)) this._cmdOut(WONT, opt);
        break;
      case WILL:
        if (theyDo.has(opt)) {
          if (!this.remote.has(opt)) { this.remote.add(opt); this._cmdOut(DO, opt); }
        } else if (!this._refusedRemote?.has(opt)) {
          (this._refusedRemote ??= new Set()).add(opt);
          this._cmdOut(DONT, opt);
        }
        break;
      case WONT:
        if (this.remote.delete(opt)) this._cmdOut(DONT, opt);
        break;
    }
  }

  _subnegotiation(sb) {
    if (sb[0] === OPT_TTYPE && sb[1] === TTYPE_SEND) {
      this.log.push(`sent SB TTYPE IS ${this.termType}`);
      const name = [...this.termType].map((c) => c.charCodeAt(0) & 0x7f);
      this._send(new Uint8Array([IAC, SB, OPT_TTYPE, TTYPE_IS, ...name, IAC, SE]));
    }
  }

  _sendNAWS() {
    const { cols, rows } = this._size();
    const v = [cols >> 8, cols & 255, rows >> 8, rows & 255].flatMap((x) => (x === IAC ? [IAC, IAC] : [x]));
    this.log.push(`sent SB NAWS ${cols}x${rows}`);
    this._send(new Uint8Array([IAC, SB, OPT_NAWS, ...v, IAC, SE]));
  }
}

function name(cmd) {
  return { [WILL]: 'WILL', [WONT]: 'WONT', [DO]: 'DO', [DONT]: 'DONT' }[cmd] ?? String(cmd);
}
