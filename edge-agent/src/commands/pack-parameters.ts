import type { PackParameters, ParameterReport } from "@bms/shared";
import type { DiagnosticDevice } from "./diagnostic-device";
import { readParameter } from "./parameter-access";

/**
 * The pack's writable points with their values read now (retained on `bms/{siteId}/{packId}/parameters`,
 * served by `GET /api/packs/:siteId/:packId/parameters`); null when it declares none. A point whose
 * read fails is reported with the reason, not left out.
 */
export async function readPackParameters(device: DiagnosticDevice, writesEnabled: boolean): Promise<PackParameters | null> {
  const declared = device.profile?.parameters ?? [];
  const bus = device.bus;
  if (!bus || declared.length === 0) return null;
  const parameters: ParameterReport[] = [];
  for (const p of declared) {
    const report: ParameterReport = { name: p.name, description: p.description ?? null, unit: p.unit ?? null, min: p.min, max: p.max, value: null };
    try {
      report.value = await readParameter(bus, p);
    } catch (err) {
      report.error = (err instanceof Error ? err.message : String(err)).slice(0, 500);
    }
    parameters.push(report);
  }
  return { v: 1, ts: Date.now(), writesEnabled, parameters };
}
