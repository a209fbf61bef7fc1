// Where a phase's load comes from when the phase has a geo DNS (phase 7): one client region per
// data center, each sending from its own source address (geo.ts clientSource) and resolving the
// routed name through the geo DNS, with its share of the requests (`--client-mix`) and its cache
// of the answers (`--dns-cache`). A plan without a geo DNS has no client regions: the load goes to
// the topology's entry as before.
import type { ClientRegion } from '../../harness/load/client-regions.ts';
import { parseDnsCacheMode } from '../../harness/load/geo-dns.ts';
import { serviceOf, type DeployPlan } from '../../harness/topology/plan.ts';
import type { OptionValue } from '../../harness/topology/types.ts';
import { clientSource } from './geo.ts';

/** What the phase's geo DNS routes: the service, the name clients resolve, the balancers' port. */
export interface GeoEntry {
  service: string;
  fqdn: string;
  port: number;
}

/** How the requests split over the client regions: `even`, or every client in one region. */
export const CLIENT_MIX_EVEN = 'even';

/**
 * The client regions of a plan and the load's API target through the geo name; null when the
 * plan has no geo DNS. `regions` are the data centers in the order the geo DNS's views number
 * them (client region i is view i). Pure.
 */
export function planClients(
  plan: Pick<DeployPlan, 'slot' | 'services'>,
  geo: GeoEntry,
  regions: readonly string[],
  options: Readonly<Record<string, OptionValue | undefined>>,
): { api: string; regions: ClientRegion[] } {
  const dns = serviceOf(plan as DeployPlan, geo.service).address;
  const mix = String(options.clientMix ?? CLIENT_MIX_EVEN);
  const cache = parseDnsCacheMode(String(options.dnsCache ?? 'ttl'));
  const chosen = mix === CLIENT_MIX_EVEN ? regions : regions.filter((r) => r === mix);
  if (chosen.length === 0) throw new Error(`--client-mix ${mix} names no region of this phase (${regions.join(', ')})`);
  return {
    api: `http://${geo.fqdn}:${geo.port}`,
    // a region's index is its view's, whoever else sends: its source address stays its own
    regions: chosen.map((name) => ({ name, share: 1, localAddress: clientSource(plan.slot, regions.indexOf(name)), dns: { host: dns.host, port: dns.port }, cache })),
  };
}
