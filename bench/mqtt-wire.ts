/**
 * The few MQTT wire encodings the bench's lean client and the tests' raw sockets write by
 * hand (a remaining length, a length-prefixed string, CONNECT); everything else speaks
 * MQTT through MQTT.js or aedes.
 */

/** the variable-length "remaining length" of a fixed header */
export function remainingLength(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/** a UTF-8 string with its 2-byte length */
export function utf8(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(2 + b.length);
  out.writeUInt16BE(b.length, 0);
  b.copy(out, 2);
  return out;
}

/** MQTT 3.1.1 CONNECT with a clean session */
export function connectPacket(o: { clientId: string; username?: string; password?: string; keepalive: number }): Buffer {
  const flags = 0x02 | (o.username !== undefined ? 0x80 : 0) | (o.password !== undefined ? 0x40 : 0);
  const parts = [Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, flags, o.keepalive >> 8, o.keepalive & 0xff]), utf8(o.clientId)];
  if (o.username !== undefined) parts.push(utf8(o.username));
  if (o.password !== undefined) parts.push(utf8(o.password));
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([0x10, ...remainingLength(body.length)]), body]);
}
