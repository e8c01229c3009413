import { connect, connectAsync, type IClientOptions, type MqttClient } from "mqtt";

/** Real mqtt.js clients for the tests, all ended by `endAll` so vitest can exit. */
export class TestClients {
  private readonly clients: MqttClient[] = [];

  async connect(url: string, options: IClientOptions = {}): Promise<MqttClient> {
    const client = await connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...options });
    this.clients.push(client);
    return client;
  }

  /** Starts connecting and returns at once, with the CONNACK's sessionPresent to come. */
  start(url: string, options: IClientOptions = {}): { client: MqttClient; sessionPresent: Promise<boolean> } {
    const client = connect(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...options });
    this.clients.push(client);
    const sessionPresent = new Promise<boolean>((resolve, reject) => {
      client.once("connect", (connack) => resolve(connack.sessionPresent));
      client.once("error", reject);
    });
    return { client, sessionPresent };
  }

  /** Connects expecting a refusal; resolves with the CONNACK return code. */
  async refusedCode(url: string, options: IClientOptions = {}): Promise<number> {
    try {
      await this.connect(url, options);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === "number") return code;
      throw err;
    }
    throw new Error("the connection was accepted");
  }

  async endAll(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.endAsync(true)));
  }
}

/** Collects messages a client receives. */
export function collect(client: MqttClient): Array<{ topic: string; payload: string; retain: boolean }> {
  const received: Array<{ topic: string; payload: string; retain: boolean }> = [];
  client.on("message", (topic, payload, packet) => received.push({ topic, payload: payload.toString("utf8"), retain: packet.retain }));
  return received;
}
