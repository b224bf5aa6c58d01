import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { McpConnections } from '../../src/activities/tools';
import { AgentTypePolicy } from '../../src/activities/agent-type-policy';
import type { McpServer } from '../../src/shared/agent-type';
import { MCP_EVERYTHING } from '../support/mcp-everything';

jest.setTimeout(30_000);

const server = (name: string): McpServer => ({
  name,
  transport: 'stdio',
  command: process.execPath,
  args: [MCP_EVERYTHING],
});
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('an MCP connection left idle is closed (its stdio server exits); one in use is kept', async () => {
  const policy = new AgentTypePolicy({ mcpCommands: [process.execPath], hosts: [], envVars: [] }, []);
  const conns = new McpConnections(policy, process.env, 300);
  try {
    const a = await conns.get(server('a'));
    const pidA = (a.client.transport as StdioClientTransport).pid as number;
    expect(a.tools.map((t) => t.name)).toContain('get-sum');
    expect(alive(pidA)).toBe(true);
    await new Promise((r) => setTimeout(r, 400));
    // Using another server sweeps the idle one.
    const b = await conns.get(server('b'));
    const pidB = (b.client.transport as StdioClientTransport).pid as number;
    for (let i = 0; alive(pidA); i++) {
      if (i > 100) throw new Error('the idle server was not closed');
      await new Promise((r) => setTimeout(r, 50));
    }
    // A long call keeps its connection open through a sweep.
    await conns.using(server('b'), async () => {
      await new Promise((r) => setTimeout(r, 400));
      await conns.get(server('c'));
    });
    expect(alive(pidB)).toBe(true);
  } finally {
    await conns.closeAll();
  }
});
