import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** @modelcontextprotocol/server-everything's entry point: a real MCP server (tools echo, get-sum, ...) for tests. */
export const MCP_EVERYTHING = join(
  __dirname,
  '..',
  '..',
  'node_modules',
  '@modelcontextprotocol',
  'server-everything',
  'dist',
  'index.js',
);

/** Starts server-everything over streamable HTTP on `port` (its URL: http://127.0.0.1:<port>/mcp) once it listens. */
export async function startMcpHttpServer(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [MCP_EVERYTHING, 'streamableHttp'], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error('the MCP HTTP server did not start')), 20_000);
    child.stderr?.on('data', (d: Buffer) => {
      if (d.toString().includes('listening on port')) {
        clearTimeout(timer);
        ready();
      }
    });
  });
  return child;
}
