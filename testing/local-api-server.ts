/**
 * A small HTTP server on 127.0.0.1 playing the API server for the operator's API client, for the unit suites that
 * need a real socket (paging, the write fence) but not a control plane. Tests close it in afterAll or finally.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../operator/runtime/kube';

export interface LocalApiServer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** An operator API client talking to this server (no credentials: it is plain HTTP on loopback). */
  client(): KubeClient;
  /** Drops every open connection, held answers included, and stops listening. */
  close(): Promise<void>;
}

export async function startLocalApiServer(
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<LocalApiServer> {
  const server = createServer(handle);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    client() {
      const config = { getCurrentCluster: () => ({ server: url }), applyToFetchOptions: async () => ({}) };
      return new KubeClient(config as unknown as KubeConfig);
    },
    async close() {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    },
  };
}
