/**
 * Typed errors of a register transport. The poller tells them apart: a timeout or an unreachable
 * device means "back off and reconnect", an exception or a bad reply means "the device answered,
 * but not with what we asked for".
 */
export class DeviceTimeoutError extends Error {
  override readonly name = "DeviceTimeoutError";
  constructor(
    readonly endpoint: string,
    readonly timeoutMs: number,
    hint = "check the unit ID, wiring, or raise timeoutMs",
  ) {
    super(`${endpoint} did not answer within ${timeoutMs} ms (${hint})`);
  }
}

export class DeviceUnreachableError extends Error {
  override readonly name = "DeviceUnreachableError";
  constructor(
    readonly endpoint: string,
    reason: string,
  ) {
    super(`${endpoint} is unreachable: ${reason}`);
  }
}

const EXCEPTION_NAMES: Readonly<Record<number, string>> = {
  1: "illegal function",
  2: "illegal data address",
  3: "illegal data value",
  4: "server device failure",
  5: "acknowledge",
  6: "server device busy",
  10: "gateway path unavailable",
  11: "gateway target device failed to respond",
};

/** The device answered with a Modbus exception response. */
export class ModbusExceptionError extends Error {
  override readonly name = "ModbusExceptionError";
  constructor(
    readonly endpoint: string,
    readonly exceptionCode: number,
    readonly address: number,
    readonly count: number,
    readonly operation: "reading" | "writing" = "reading",
  ) {
    super(
      `${endpoint} refused ${operation} ${count} registers at ${address}: Modbus exception ${exceptionCode} (${EXCEPTION_NAMES[exceptionCode] ?? "unknown"})`,
    );
  }
}

/** A reply that cannot be what we asked for (wrong length, CRC, or undecodable contents). */
export class BadReplyError extends Error {
  override readonly name = "BadReplyError";
  constructor(
    readonly endpoint: string,
    reason: string,
  ) {
    super(`${endpoint} sent a bad reply: ${reason}`);
  }
}

export type TransportError = DeviceTimeoutError | DeviceUnreachableError | ModbusExceptionError | BadReplyError;

/** True for errors after which the connection (or device) must be treated as gone. */
export function isConnectionError(err: unknown): boolean {
  return err instanceof DeviceTimeoutError || err instanceof DeviceUnreachableError;
}
