import { defineModel } from '../src/core/model.js';
import { metricDef } from '../src/core/vocabulary.js';
import { nativeJsonDecoder } from './lib/native-json.js';

const perTariff = [1, 2, 3, 4].flatMap((t) => [`energy_import_t${t}_kwh`, `energy_export_t${t}_kwh`]);
const perPhase = [1, 2, 3].flatMap((l) => [`voltage_l${l}_v`, `current_l${l}_a`, `power_l${l}_w`]);
const metrics = ['energy_import_kwh', 'energy_export_kwh', 'power_w', 'voltage_v', 'current_a', ...perTariff, ...perPhase, 'temperature_c'];
metrics.forEach((m) => metricDef(m) ?? (() => { throw new Error(m); })());

export default defineModel({
  id: 'generic.electricity-meter',
  vendor: 'Generic',
  name: 'Electricity meter (native JSON)',
  kind: 'electricity_meter',
  // the native JSON format is ours (docs/vocabulary.md): no vendor codec to depart from
  deviations: [],
  description: 'Meters that publish cumulative energy in kWh (totals and/or per tariff), power, and per-phase voltage and current.',
  format: 'json',
  reportIntervalS: 900,
  metrics,
  decode: nativeJsonDecoder({ metrics }),
  examples: [
    { description: 'totals and power', json: { energy_import_kwh: 5021.3, power_w: 1830, voltage_v: 229.8 }, readings: { energy_import_kwh: 5021.3, power_w: 1830, voltage_v: 229.8 } },
  ],
});
