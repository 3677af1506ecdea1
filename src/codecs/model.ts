/** A user model as the catalogue holds it: metadata from its definition, decoding in the sandbox. */
import { DecodeError, type DecodeInput } from '../core/model.js';
import type { CatalogueModel } from '../core/catalogue.js';
import { mapOutput } from './mapping.js';
import type { CodecSandbox } from './sandbox.js';
import type { UserModelDefinition } from './schema.js';

export interface UserModel extends CatalogueModel {
  source: 'user';
  definition: UserModelDefinition;
  createdAt: number;
  updatedAt: number;
}

export function userModel(def: UserModelDefinition, sandbox: CodecSandbox, times: { createdAt: number; updatedAt: number }): UserModel {
  // the sandbox queues per codec version: a replaced codec's calls already waiting finish with the old source
  const key = `${def.id}@${times.updatedAt}`;
  return {
    id: def.id, vendor: def.vendor, name: def.name, description: def.description, kind: def.kind, format: def.format,
    ports: def.ports, reportIntervalS: def.reportIntervalS, lowBatteryV: def.lowBatteryV,
    metrics: def.mapping.map((f) => f.metric),
    events: [...new Set((def.events ?? []).map((e) => e.type))],
    deviations: [],
    examples: [],
    source: 'user',
    definition: def,
    ...times,
    decode(): never {
      throw new DecodeError(`${def.id} is a user codec: it decodes in the sandbox (decodeAsync)`);
    },
    async decodeAsync(input: DecodeInput) {
      if (def.ports && def.ports.length > 0 && (input.port === undefined || !def.ports.includes(input.port))) {
        throw new DecodeError(`fPort ${input.port ?? 'none'} is not one of ${def.id}'s ports (${def.ports.join(', ')})`);
      }
      let json: unknown;
      if (def.format === 'json') {
        try {
          json = JSON.parse(input.payload.toString('utf8'));
        } catch {
          throw new DecodeError('payload is not JSON (the model\'s format is json)');
        }
      }
      const output = await sandbox.run(key, def.decoder, { bytes: [...input.payload], fPort: input.port, recvTime: input.receivedAt, json });
      return mapOutput(def, output, input.receivedAt);
    },
  };
}
