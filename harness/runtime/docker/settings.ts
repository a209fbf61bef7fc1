// What the Docker runtime runs with (createDockerRuntime's options, filled in), and the small
// formatting the deployment and its services share.
import type { ServiceKind } from '../../topology/types.ts';
import type { ServiceRecipe } from '../../../targets/services/types.ts';
import { type ImageMode, type ImageOverrides } from './images.ts';


export interface Settings {
  images: ImageMode;
  socketPath: string;
  repoRoot: string;
  stateRoot: string;
  graceMs: number;
  readyTimeoutMs: number;
  parallelStarts: number;
  recipes: ReadonlyMap<ServiceKind, ServiceRecipe>;
  path: string | undefined;
  officialImages: ImageOverrides;
  pickPort: () => Promise<number>;
  grafana: boolean;
}

/** Rendered configs (copied into the run directory for a person to read). */
export const CONFIG_FILE = /\.(conf|cfg|json|ya?ml|toml|ini|lua|vcl)$/;
/** Indents a log tail under its message. */
export const indent = (text: string) => text.split('\n').map((l) => `    ${l}`).join('\n');
/** Milliseconds as seconds with two decimals, for progress lines. */
export const secs = (ms: number) => (ms / 1000).toFixed(2);
