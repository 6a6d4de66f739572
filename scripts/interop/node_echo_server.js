// Interop peer server: a Node `ws` echo server for the wspc example clients.
//
//   NODE_PATH=<dir with ws> node node_echo_server.js [HOST] [PORT]   (default 127.0.0.1 0: a free port)
//
// Prints `echo server listening on ws://HOST:PORT` once listening, then echoes every text and
// binary message with its type (ws answers pings and closes itself) until killed. It speaks the
// subprotocol `chat`: selected when the client offers it, otherwise no Sec-WebSocket-Protocol in
// the answer (ws's own default would select whatever the client offered first).
'use strict';

const { WebSocketServer } = require('ws');

const host = process.argv[2] || '127.0.0.1';
const port = Number(process.argv[3] || 0);
const wss = new WebSocketServer({
  host,
  port,
  perMessageDeflate: false,
  maxPayload: 0,
  handleProtocols: (offered) => (offered.has('chat') ? 'chat' : false),
});

wss.on('listening', () => {
  const a = wss.address();
  console.log(`echo server listening on ws://${a.address}:${a.port}`);
});
wss.on('connection', (ws, req) => {
  const peer = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', (e) => console.log(`${peer}: error ${e.message}`));
  ws.on('close', (code, reason) => console.log(`${peer}: closed ${code} ${reason}`));
});
