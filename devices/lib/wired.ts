/**
 * Building blocks of wired models (polled through src/connectors): the attributes a poll
 * needs (unitId, registers, meterAddress), checked by schema, and the decode/plan pair of
 * each protocol. One helper builds both, so what a poll reads and what decode expects
 * cannot disagree.
 */
import { z } from 'zod';
import { DecodeError, emptyDecoded, type Decoded, type DecodeInput, type PollPlan, type WiredSpec } from '../../src/core/model.js';
import { RegisterListSchema, decodeRegisters, planReads, type Register } from './modbus.js';
import { decodeDlt645, dlt645Reads } from './dlt645.js';
import { decodeCjt188 } from './cjt188.js';

/** Attributes of wired devices: checked at provisioning (src/api) and again at poll and decode time. */
export const WiredAttributeSchemas = {
  connector: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a connector name from the config (letters, digits, _ . -)'),
  unitId: z.number().int().min(0).max(247),
  pollS: z.number().min(0.1).max(86_400),
  registers: RegisterListSchema,
  meterAddress: z.string().regex(/^([0-9A-Fa-f]{12}|[0-9A-Fa-f]{14})$/, '12 (DL/T 645) or 14 (CJ/T 188) hex digits as printed on the meter'),
  phases: z.union([z.literal(1), z.literal(3)]),
} as const;

function attr<K extends keyof typeof WiredAttributeSchemas>(attributes: Record<string, unknown> | undefined, key: K): z.infer<(typeof WiredAttributeSchemas)[K]> | undefined {
  const v = attributes?.[key];
  if (v === undefined || v === null) return undefined;
  const r = WiredAttributeSchemas[key].safeParse(v);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new DecodeError(`attributes.${[key, ...i.path].join('.')}: ${i.message}`);
  }
  return r.data as z.infer<(typeof WiredAttributeSchemas)[K]>;
}

function decoded(readings: Decoded['readings']): Decoded {
  return { ...emptyDecoded(), readings };
}

/**
 * A Modbus device: a fixed register map (vendor models, from the vendor's manual) or the
 * device's `registers` attribute (generic models). Every mapped metric must be one the
 * model declares.
 */
/** the attributes a register-map (generic Modbus) model reads, as GET /models shows them */
export const MODBUS_MAP_ATTRIBUTES: Record<string, string> = {
  connector: 'name of the modbus-tcp / modbus-rtu-tcp connector (config `connectors`)',
  unitId: 'Modbus unit (slave) id, 0-247 (default 1)',
  registers: '[{metric, address, function: holding|input, type: uint16|int16|uint32|int32|float32, wordOrder: big|little, scale, offset}]',
  pollS: 'poll interval, s (default: the connector\'s pollS); offline after 3 x this',
};

export function modbusDevice(opts: { metrics: readonly string[]; registers?: Register[]; defaultUnitId?: number }) {
  const registersOf = (attributes: Record<string, unknown> | undefined): Register[] => {
    const regs = opts.registers ?? attr(attributes, 'registers');
    if (!regs) throw new DecodeError('attributes.registers: required (the register map: [{metric, address, function?, type?, wordOrder?, scale?}])');
    for (const r of regs) if (!opts.metrics.includes(r.metric)) throw new DecodeError(`attributes.registers: metric ${r.metric} is not one this model emits (${opts.metrics.join(', ')})`);
    return regs;
  };
  const wired: WiredSpec = {
    protocol: 'modbus',
    plan: (attributes, limits): PollPlan => ({
      protocol: 'modbus',
      unitId: attr(attributes, 'unitId') ?? opts.defaultUnitId ?? 1,
      blocks: planReads(registersOf(attributes), limits.maxRegisters),
    }),
  };
  return {
    wired,
    decode: (input: DecodeInput): Decoded => decoded(decodeRegisters(input.payload, registersOf(input.attributes))),
  };
}

function meterAddress(attributes: Record<string, unknown> | undefined, digits: 12 | 14): string | undefined {
  const a = attr(attributes, 'meterAddress');
  if (a !== undefined && a.length !== digits) throw new DecodeError(`attributes.meterAddress: must be ${digits} hex digits for this meter, got ${a.length}`);
  return a;
}

/** A DL/T 645-2007 meter; without a meterAddress (decoding without a device) the address is not checked. */
export function dlt645Device() {
  const wired: WiredSpec = {
    protocol: 'dlt645',
    plan: (attributes): PollPlan => {
      const address = meterAddress(attributes, 12);
      if (!address) throw new DecodeError('attributes.meterAddress: required (12 digits as printed on the meter)');
      return { protocol: 'dlt645', meterAddress: address, dataIds: dlt645Reads(attr(attributes, 'phases') ?? 1) };
    },
  };
  return { wired, decode: (input: DecodeInput): Decoded => decoded(decodeDlt645(input.payload, meterAddress(input.attributes, 12))) };
}

/** A CJ/T 188-2004 water meter (type 0x10 cold water unless attributes.meterType says otherwise). */
export function cjt188Device() {
  const wired: WiredSpec = {
    protocol: 'cjt188',
    plan: (attributes): PollPlan => {
      const address = meterAddress(attributes, 14);
      if (!address) throw new DecodeError('attributes.meterAddress: required (14 digits as printed on the meter)');
      const t = attributes.meterType;
      if (t !== undefined && !(typeof t === 'number' && [0x10, 0x11, 0x12, 0x13].includes(t))) throw new DecodeError('attributes.meterType: 16 (0x10 cold), 17 (hot), 18 (drinking) or 19 (reclaimed water)');
      return { protocol: 'cjt188', meterAddress: address, meterType: (t as number | undefined) ?? 0x10 };
    },
  };
  return { wired, decode: (input: DecodeInput): Decoded => decoded(decodeCjt188(input.payload, meterAddress(input.attributes, 14))) };
}
