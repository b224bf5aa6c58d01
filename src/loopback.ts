/** Whether a host name or address (no port) is this machine's loopback: localhost, 127.x.x.x, ::1 (bracketed or not). */
export const isLoopbackHost = (host: string): boolean => /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/.test(host);

/** The host of a `host:port` address (`[::1]:7233` → `[::1]`); the address itself when it has no port. */
export const hostOf = (address: string): string => address.replace(/:\d+$/, '');
