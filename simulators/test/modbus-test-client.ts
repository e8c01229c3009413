import ModbusRTU from "modbus-serial";

/** A modbus-serial client connected to 127.0.0.1:`port`, with a timeout (it has none by default). */
export async function connectClient(port: number): Promise<ModbusRTU> {
  const client = new ModbusRTU();
  await client.connectTCP("127.0.0.1", { port });
  client.setTimeout(2000);
  return client;
}

export function closeClient(client: ModbusRTU): Promise<void> {
  return new Promise((resolve) => {
    if (!client.isOpen) return resolve();
    client.close(() => resolve());
  });
}

/** Reads `count` holding registers from `unitId`, in chunks of at most 125. */
export async function readRegisters(client: ModbusRTU, unitId: number, address: number, count: number): Promise<number[]> {
  client.setID(unitId);
  const out: number[] = [];
  for (let offset = 0; offset < count; offset += 125) {
    const { data } = await client.readHoldingRegisters(address + offset, Math.min(125, count - offset));
    out.push(...data);
  }
  return out;
}

/** The Modbus exception code of a failed request, or undefined if it did not fail that way. */
export async function exceptionCodeOf(request: Promise<unknown>): Promise<number | undefined> {
  try {
    await request;
    return undefined;
  } catch (err) {
    const code: unknown = typeof err === "object" && err !== null ? Reflect.get(err, "modbusCode") : undefined;
    return typeof code === "number" ? code : undefined;
  }
}
