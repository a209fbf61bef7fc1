// Kinds that exist only in a test: a registry of the real kinds plus fakes, and services of a
// fake kind. A fake kind is typed as a ServiceKind here, in one place, so that test topologies
// need no casts of their own.
import { z } from 'zod';
import type { Service, ServiceKind } from '../../../harness/topology/types.ts';
import { recipes, registry, type KindRegistry } from '../index.ts';
import type { ComponentKind } from '../types.ts';

/** A kind named `name` that starts nothing unless given hooks: config `{ kind }`, port 8090, app tier. */
export function fakeKind(name: string, over: Partial<Omit<ComponentKind, 'kind'>> = {}): ComponentKind {
  return {
    kind: name as ServiceKind,
    config: z.object({ kind: z.literal(name) }),
    ports: { main: 8090 },
    tier: 'app',
    requires: [],
    launch: () => {
      throw new Error(`fake kind ${name} has no launch`);
    },
    ready: async () => {},
    ...over,
  };
}

/** The registered kinds plus `extra` (a kind listed twice is an error, as in the real registry). */
export function withKinds(...extra: ComponentKind[]): KindRegistry {
  return registry([...recipes.values(), ...extra]);
}

/** A service of a fake kind, with the config `{ kind }` fakeKind's schema accepts. */
export function fakeService(kind: string, s: Omit<Service, 'kind' | 'config'>): Service {
  return { ...s, kind: kind as ServiceKind, config: { kind } as unknown as Service['config'] };
}
