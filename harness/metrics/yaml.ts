// A tiny YAML writer for the configs bench generates (prometheus.yml). It covers what those need:
// maps, lists, strings, numbers, booleans. Strings are always double-quoted JSON, which YAML reads
// as the same string, so no value can turn into a number, a boolean or a comment by accident.

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue | undefined };

/** Renders a value as block-style YAML; keys whose value is undefined are left out. */
export function toYaml(value: YamlValue): string {
  return render(value, 0).join('\n') + '\n';
}

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function scalar(v: string | number | boolean | null): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`cannot write ${v} to YAML`);
  return String(v);
}

const key = (k: string) => (KEY.test(k) ? k : JSON.stringify(k));

const isScalar = (v: YamlValue): v is string | number | boolean | null => v === null || typeof v !== 'object';

function render(value: YamlValue, indent: number): string[] {
  const pad = ' '.repeat(indent);
  if (isScalar(value)) return [pad + scalar(value)];
  if (Array.isArray(value)) {
    if (value.length === 0) return [pad + '[]'];
    // A list of scalars reads best inline: targets: ["a:1", "b:2"]
    if (value.every(isScalar)) return [pad + '[' + value.map((v) => scalar(v as string)).join(', ') + ']'];
    const out: string[] = [];
    for (const item of value) {
      const lines = render(item, indent + 2);
      out.push(pad + '- ' + lines[0]!.slice(indent + 2), ...lines.slice(1));
    }
    return out;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined) as [string, YamlValue][];
  if (entries.length === 0) return [pad + '{}'];
  const out: string[] = [];
  for (const [k, v] of entries) {
    if (isScalar(v) || (Array.isArray(v) && (v.length === 0 || v.every(isScalar))) || (!Array.isArray(v) && Object.keys(v).length === 0)) {
      out.push(`${pad}${key(k)}: ${render(v, 0)[0]}`);
    } else {
      out.push(`${pad}${key(k)}:`, ...render(v, indent + 2));
    }
  }
  return out;
}
