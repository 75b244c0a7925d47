/**
 * Policy text to a Policy: each file parsed (parse.ts), then merged (merge.ts). The YAML parser
 * is loaded only here, so that a connection served from the compiled cache never loads it.
 */
import { mergeFragments } from './merge.js';
import type { PolicyFragment } from './parse.js';
import type { Policy } from './schema.js';
import type { PolicyError } from '../values/policy-error.js';

/** Whether this process parsed policy YAML: no model run for the launcher's code cache (src/code-cache.ts). */
export let policyParsed = false;

export interface PolicySource {
  /** The path the admin knows the file by (errors and rules point at it). */
  path: string;
  text: string;
}

export async function compileSources(
  sources: readonly PolicySource[],
): Promise<{ ok: true; policy: Policy } | { ok: false; errors: PolicyError[] }> {
  policyParsed = true;
  const { parsePolicyText } = await import('./parse.js');
  const fragments: PolicyFragment[] = [];
  const errors: PolicyError[] = [];
  for (const { path, text } of sources) {
    const parsed = parsePolicyText(path, text);
    if (parsed.ok) fragments.push(parsed.fragment);
    else errors.push(...parsed.errors);
  }
  if (errors.length > 0) return { ok: false, errors };
  return mergeFragments(fragments);
}
