/** The device does not speak SunSpec the way a battery must (no marker, no 802/805, broken chain). */
export class SunSpecDiscoveryError extends Error {
  override readonly name = "SunSpecDiscoveryError";
}

import { DecodeError } from "../readers/decode-error";

/** Registers that decode to nonsense: a scale factor out of range, a model of the wrong shape. */
export class SunSpecDecodeError extends DecodeError {
  override readonly name: string = "SunSpecDecodeError";
}

/** A model header is no longer where discovery found it: the map must be discovered again. */
export class SunSpecMapChangedError extends SunSpecDecodeError {
  override readonly name = "SunSpecMapChangedError";
}
