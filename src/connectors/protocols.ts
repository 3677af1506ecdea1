/**
 * The exchanges of one poll, per connector type: requests built and answers framed by the
 * pure codecs in devices/lib, carried by a TcpLink. The result is the raw payload the
 * model decodes (a register image, or the meter's answer frames as received): conversion
 * stays in the model, so a bad checksum or a wrong meter address becomes a dead letter
 * with the model's reason, exactly as an uplink would.
 */
import type { PollPlan } from '../core/model.js';
import { ModbusException, encodeImage, matchMbapResponse, matchRtuResponse, mbapReadRequest, rtuReadRequest, type ReadBlock, type ResponseMatch } from '../../devices/lib/modbus.js';
import { dlt645ReadRequest, scanDlt645 } from '../../devices/lib/dlt645.js';
import { cjt188ReadRequest, scanCjt188 } from '../../devices/lib/cjt188.js';
import { LinkError, type Matcher, type TcpLink } from './link.js';

export const CONNECTOR_TYPES = ['modbus-tcp', 'modbus-rtu-tcp', 'dlt645-tcp', 'cjt188-tcp'] as const;
export type ConnectorType = (typeof CONNECTOR_TYPES)[number];

export const PROTOCOL_OF: Record<ConnectorType, PollPlan['protocol']> = {
  'modbus-tcp': 'modbus', 'modbus-rtu-tcp': 'modbus', 'dlt645-tcp': 'dlt645', 'cjt188-tcp': 'cjt188',
};

function modbusMatcher(match: (rx: Buffer) => ResponseMatch, unitId: number, block: ReadBlock, skipInvalid: boolean): Matcher {
  return (rx) => {
    const m = match(rx);
    switch (m.kind) {
      case 'incomplete': return m;
      case 'data': return { kind: 'done', frame: m.data, consumed: m.length };
      case 'exception': return { kind: 'fail', error: new ModbusException(m.code, unitId, block) };
      case 'invalid':
        // Modbus TCP: an answer with another transaction id is a late one; RTU has no ids, so a
        // frame that is not ours (CRC, unit, length) fails the request rather than guessing
        return skipInvalid && m.reason.startsWith('stale') ? { kind: 'skip', consumed: m.length } : { kind: 'fail', error: new LinkError('protocol', `bad Modbus answer: ${m.reason}`) };
    }
  };
}

function meterMatcher(scan: (rx: Buffer) => ReturnType<typeof scanDlt645>): Matcher {
  return (rx) => {
    const s = scan(rx);
    if (s.kind === 'incomplete') return s;
    if (s.kind === 'garbage') return { kind: 'skip', consumed: s.skip };
    // the frame as received, preamble included: what a dead letter should keep
    return { kind: 'done', frame: Buffer.from(rx.subarray(0, s.start + s.length)), consumed: s.start + s.length };
  };
}

export class Poller {
  private transactionId = 0;

  constructor(private readonly type: ConnectorType, private readonly link: TcpLink, private readonly timeoutMs: number) {}

  async poll(plan: PollPlan): Promise<Buffer> {
    switch (plan.protocol) {
      case 'modbus': {
        const blocks: Array<{ block: ReadBlock; data: Buffer }> = [];
        for (const block of plan.blocks) {
          let data: Buffer;
          if (this.type === 'modbus-rtu-tcp') {
            data = await this.link.request(rtuReadRequest(plan.unitId, block), modbusMatcher((rx) => matchRtuResponse(rx, plan.unitId, block), plan.unitId, block, false), this.timeoutMs);
          } else {
            const tid = (this.transactionId = (this.transactionId + 1) & 0xffff);
            data = await this.link.request(mbapReadRequest(tid, plan.unitId, block), modbusMatcher((rx) => matchMbapResponse(rx, tid, plan.unitId, block), plan.unitId, block, true), this.timeoutMs);
          }
          blocks.push({ block, data });
        }
        return encodeImage(blocks);
      }
      case 'dlt645': {
        const frames: Buffer[] = [];
        for (const di of plan.dataIds) frames.push(await this.link.request(dlt645ReadRequest(plan.meterAddress, di), meterMatcher(scanDlt645), this.timeoutMs));
        return Buffer.concat(frames);
      }
      case 'cjt188':
        return this.link.request(cjt188ReadRequest(plan.meterAddress, plan.meterType), meterMatcher(scanCjt188), this.timeoutMs);
    }
  }
}
