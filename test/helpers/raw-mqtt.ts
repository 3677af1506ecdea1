/** A bare MQTT 3.1.1 CONNECT over a socket bound to a chosen local address (127.0.0.x), for tests of per-address limits. */
import { connect as netConnect } from 'node:net';

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

export function connectPacket(clientId: string, username: string, password: string, protocolVersion = 4): Buffer {
  const variable = Buffer.concat([str('MQTT'), Buffer.from([protocolVersion, 0xc2, 0x00, 0x3c]), ...(protocolVersion === 5 ? [Buffer.from([0x00])] : [])]);
  const payload = Buffer.concat([str(clientId), str(username), str(password)]);
  const body = Buffer.concat([variable, payload]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

/** CONNECT and the CONNACK return code (undefined if the socket closed without one) */
export function rawConnect(port: number, localAddress: string, clientId: string, username: string, password: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const sock = netConnect({ host: '127.0.0.1', port, localAddress }, () => sock.write(connectPacket(clientId, username, password)));
    let done = false;
    sock.on('data', (d) => {
      if (!done && d[0] === 0x20) { done = true; resolve(d[3]); sock.destroy(); }
    });
    sock.on('close', () => { if (!done) { done = true; resolve(undefined); } });
    sock.on('error', () => {});
  });
}
