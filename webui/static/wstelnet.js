// wstelnet: a telnet client in the browser, over websockify. Query
// parameters prefill the form: host, port, path, token, encrypt=1, and
// autoconnect=1 connects at once.
import { Terminal } from './vendor/xterm/xterm.mjs';
import { FitAddon } from './vendor/xterm/addon-fit.mjs';
import { Websock } from './websock.js';
import { Telnet } from './telnet.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
$('host').value = params.get('host') ?? location.hostname;
$('port').value = params.get('port') ?? (location.port || (location.protocol === 'https:' ? '443' : '80'));
$('path').value = params.get('path') ?? 'websockify';
$('token').value = params.get('token') ?? '';
$('encrypt').checked = params.has('encrypt') ? params.get('encrypt') === '1' : location.protocol === 'https:';

const term = new Terminal({ cursorBlink: true, scrollback: 2000, convertEol: false });
const fit = new FitAddon();
term.loadAddon(fit);
term.open($('terminal'));
fit.fit();

let ws = null;
let telnet = null;

function setStatus(text, state) {
  $('status').textContent = text;
  $('status').dataset.state = state;
  $('connectButton').disabled = state !== 'disconnected';
  $('disconnectButton').disabled = state === 'disconnected';
}

export function uri() {
  const scheme = $('encrypt').checked ? 'wss' : 'ws';
  const host = $('host').value.includes(':') ? `[${$('host').value}]` : $('host').value;
  let u = `${scheme}://${host}:${$('port').value}/${$('path').value.replace(/^\//, '')}`;
  if ($('token').value) u += `${u.includes('?') ? '&' : '?'}token=${encodeURIComponent($('token').value)}`;
  return u;
}

function connect() {
  disconnect();
  ws = new Websock();
  telnet = new Telnet({
    send: (b) => ws.send(b),
    size: () => ({ cols: term.cols, rows: term.rows }),
  });
  window.wstelnet.telnet = telnet;
  ws.on('open', () => {
    setStatus(`Connected (${ws.protocol || 'binary'})`, 'connected');
    term.focus();
  });
  ws.on('message', () => {
    const data = telnet.receive(ws.rQshiftBytes());
    if (data.length) term.write(data);
  });
  ws.on('close', (e) => {
    setStatus(`Disconnected (${e.code}${e.reason ? ' ' + e.reason : ''})`, 'disconnected');
    term.write('\r\n\x1b[31m[connection closed]\x1b[0m\r\n');
  });
  ws.on('error', () => term.write('\r\n\x1b[31m[WebSocket error]\x1b[0m\r\n'));
  setStatus('Connecting…', 'connecting');
  ws.open(uri());
}

function disconnect() {
  if (ws) ws.close();
}

term.onData((s) => {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(telnet.encode(s));
});
term.onResize(() => telnet?.resized());
window.addEventListener('resize', () => fit.fit());

$('connect').addEventListener('submit', (e) => { e.preventDefault(); connect(); });
$('disconnectButton').addEventListener('click', disconnect);

// For tests and the console: the terminal and the screen as text.
window.wstelnet = {
  term,
  telnet: null,
  connect,
  disconnect,
  uri,
  screenText() {
    const buf = term.buffer.active;
    const lines = [];
    for (let i = 0; i < buf.length; i++) lines.push(buf.getLine(i).translateToString(true));
    return lines.join('\n');
  },
};
setStatus('Disconnected', 'disconnected');
if (params.get('autoconnect') === '1') connect();
