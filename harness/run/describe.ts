// A deployed plan as text: hosts, services with their addresses, edges, the shard map.
import type { DeployPlan } from '../topology/plan.ts';
import { endpointUrl } from '../topology/plan.ts';
import { storeOf } from '../topology/stores.ts';

export function formatPlan(plan: DeployPlan, runDir: string): string {
  const lines: string[] = [];
  lines.push(`phase ${plan.topology.phase} — ${plan.topology.title}   run ${plan.runId}   dir ${runDir}`);
  lines.push(`  entry        ${endpointUrl(plan.services.find((s) => s.name === plan.topology.entry)!.address)}`);
  if (plan.topology.staticEntry) lines.push(`  static edge  ${endpointUrl(plan.services.find((s) => s.name === plan.topology.staticEntry)!.address)}`);
  if (plan.prometheus) lines.push(`  prometheus   ${endpointUrl(plan.prometheus.address)}`);
  if (plan.toxiproxy) lines.push(`  toxiproxy    ${endpointUrl(plan.toxiproxy.api)}`);
  lines.push('  hosts:');
  for (const h of plan.hosts) {
    const svcs = plan.services.filter((s) => s.host === h.name).map((s) => `${s.name} (${s.kind}) :${s.address.port}`);
    lines.push(`    ${h.name.padEnd(18)} ${h.ip.padEnd(13)} ${String(h.size.cpus).padStart(4)} cpu ${String(h.size.memoryMb).padStart(5)} MB  ${svcs.join(', ')}`);
  }
  const store = storeOf(plan, 'users');
  if (store?.kind === 'postgres') {
    lines.push(`  shard map (${store.strategy}):`);
    for (const sh of store.shards) {
      const range = store.strategy === 'range' ? `ids ${sh.range[0].toLocaleString('en-US')}–${sh.range[1] === null ? '∞' : sh.range[1].toLocaleString('en-US')}` : 'hash(id) mod ' + store.shards.length;
      lines.push(`    ${sh.name.padEnd(10)} ${range.padEnd(28)} primary ${sh.primary}${sh.replicas.length ? `, replicas ${sh.replicas.join(', ')}` : ''}`);
    }
  }
  const proxied = plan.edges.filter((e) => e.proxied);
  if (proxied.length > 0) lines.push(`  edges through Toxiproxy: ${proxied.map((e) => e.name).join(', ')}`);
  return lines.join('\n') + '\n';
}
