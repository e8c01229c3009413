import { busOf, type DeviceConfig } from "@bms/shared/config/edge-agent-config";
import { ModbusRtuTransport } from "./modbus-rtu-transport";
import { ModbusTcpTransport } from "./modbus-tcp-transport";
import type { WritableRegisterTransport } from "./register-transport";
import { SlcanTransport } from "./slcan-transport";

/**
 * One transport per bus, shared by the devices on it: a Modbus TCP connection per host:port, one
 * RTU transport per serial port (the line's one lock, whatever the unit IDs), one SLCAN adapter per
 * port. A shared bus takes the largest timeout and pause of its devices.
 */
export class TransportRegistry {
  private readonly registers = new Map<string, WritableRegisterTransport>();
  private readonly can = new Map<string, SlcanTransport>();

  constructor(private readonly devices: readonly DeviceConfig[]) {}

  registerTransport(device: DeviceConfig): WritableRegisterTransport {
    const { bus } = busOf(device.transport);
    const existing = this.registers.get(bus);
    if (existing) return existing;
    const peers = this.peers(bus);
    const timeoutMs = Math.max(...peers.map((d) => d.timeoutMs));
    const t = device.transport;
    let transport: WritableRegisterTransport;
    if (t.kind === "modbus-tcp") {
      const interRequestDelayMs = Math.max(...peers.map((d) => (d.transport.kind === "modbus-tcp" ? d.transport.interRequestDelayMs : 0)));
      transport = new ModbusTcpTransport({ host: t.host, port: t.port, timeoutMs, interRequestDelayMs });
    } else if (t.kind === "modbus-rtu") {
      const delays = peers.map((d) => (d.transport.kind === "modbus-rtu" ? d.transport.interRequestDelayMs : undefined)).filter((d) => d !== undefined);
      transport = new ModbusRtuTransport({
        path: t.path,
        baudRate: t.baudRate,
        parity: t.parity,
        dataBits: t.dataBits,
        stopBits: t.stopBits,
        timeoutMs,
        ...(delays.length > 0 ? { interRequestDelayMs: Math.max(...delays) } : {}),
      });
    } else {
      throw new TypeError(`${device.packId}: a ${t.kind} device is not read through registers`);
    }
    this.registers.set(bus, transport);
    return transport;
  }

  canTransport(device: DeviceConfig): SlcanTransport {
    const t = device.transport;
    if (t.kind !== "can-slcan") throw new TypeError(`${device.packId}: a ${t.kind} device has no CAN adapter`);
    const { bus } = busOf(t);
    let transport = this.can.get(bus);
    if (!transport) {
      transport = new SlcanTransport({ path: t.path, baudRate: t.baudRate, bitRate: t.bitRate, listenOnly: t.listenOnly, keepAlive: t.keepAlive });
      this.can.set(bus, transport);
    }
    return transport;
  }

  async close(): Promise<void> {
    await Promise.all([...this.registers.values(), ...this.can.values()].map((t) => t.close()));
  }

  private peers(bus: string): DeviceConfig[] {
    return this.devices.filter((d) => busOf(d.transport).bus === bus);
  }
}
