import { createServer } from 'node:net';

/** Whether a host name or address (no port) is this machine's loopback: localhost, 127.x.x.x, ::1 (bracketed or not). */
export const isLoopbackHost = (host: string): boolean => /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/.test(host);

/** The host of a `host:port` address (`[::1]:7233` → `[::1]`); the address itself when it has no port. */
export const hostOf = (address: string): string => address.replace(/:\d+$/, '');

/** A free TCP port on 127.0.0.1 (the OS picks it; there is a small window before the caller binds it). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
