import { createConnection, createServer, type Server, type Socket } from "node:net";

/** A TCP proxy in front of a server, whose live connections a test can cut (a network failure, for real). */
export interface TcpProxy {
  /** host:port to dial instead of the server. */
  address: string;
  /** Connections cut so far (each a client connection with its upstream). */
  cut: number;
  /** Destroys every live connection; new ones are proxied as before. Returns how many it cut. */
  dropAll(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const [host, port] = [target.slice(0, target.lastIndexOf(":")), Number(target.slice(target.lastIndexOf(":") + 1))];
  const live = new Set<[Socket, Socket]>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host, port });
    const pair: [Socket, Socket] = [client, upstream];
    live.add(pair);
    const end = () => {
      live.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const proxy: TcpProxy = {
    address: `127.0.0.1:${(server.address() as { port: number }).port}`,
    cut: 0,
    dropAll() {
      const pairs = [...live];
      for (const [client, upstream] of pairs) {
        // resetAndDestroy: an RST, as a broken network gives, not a polite FIN.
        client.resetAndDestroy();
        upstream.destroy();
      }
      live.clear();
      proxy.cut += pairs.length;
      return pairs.length;
    },
    async close() {
      proxy.dropAll();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return proxy;
}
