/**
 * The lint's built-in resource → API group table against the real apiserver's discovery documents,
 * for each built version: every resource the table lists is served in that group, and every resource
 * the apiserver serves in a group the table knows is in the table.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseKubernetesVersion } from '../../src';
import { BUILTIN_GROUPS } from '../../src/policy';
import { kubernetesVersions } from './support/binaries';
import { ControlPlane, startControlPlane } from './support/control-plane';

let cp: ControlPlane | undefined;
afterEach(async () => {
  await cp?.stop();
  cp = undefined;
});

interface ApiResourceList { resources: { name: string }[] }
interface ApiGroupList { groups: { name: string; versions: { groupVersion: string }[] }[] }

/** group → resource names (with subresources), from every served version of every group. */
async function discover(c: ControlPlane): Promise<Map<string, Set<string>>> {
  const served = new Map<string, Set<string>>();
  const add = (group: string, list: ApiResourceList | undefined) => {
    const set = served.get(group) ?? new Set<string>();
    for (const r of list?.resources ?? []) set.add(r.name);
    served.set(group, set);
  };
  add('', (await c.client.request<ApiResourceList>('GET', '/api/v1')).body);
  const groups = (await c.client.request<ApiGroupList>('GET', '/apis')).body!.groups;
  for (const g of groups) for (const v of g.versions) add(g.name, (await c.client.request<ApiResourceList>('GET', `/apis/${v.groupVersion}`)).body);
  return served;
}

describe.each(kubernetesVersions())('built-in resources of %s', (version) => {
  it('match the lint table', async () => {
    cp = await startControlPlane({ version });
    const served = await discover(cp);
    const minor = parseKubernetesVersion(version).minor;
    const problems: string[] = [];
    for (const g of BUILTIN_GROUPS) {
      const have = served.get(g.group);
      if (!have) {
        problems.push(`group ${JSON.stringify(g.group)} is in the table but not served`);
        continue;
      }
      for (const [resource, since] of Object.entries(g.resources)) {
        if (since <= minor && !have.has(resource)) problems.push(`${g.group || 'core'}/${resource}: in the table (since 1.${since}) but not served by ${version}`);
        if (since > minor && have.has(resource)) problems.push(`${g.group || 'core'}/${resource}: served by ${version} but the table says from 1.${since}`);
      }
      for (const sub of g.subresources ?? []) if (!have.has(sub)) problems.push(`${g.group || 'core'}/${sub}: subresource in the table but not served by ${version}`);
      for (const name of have) {
        const base = name.split('/')[0];
        if (g.resources[base] === undefined) problems.push(`${g.group || 'core'}/${base}: served by ${version} but missing from the table`);
      }
    }
    expect([...new Set(problems)], [...new Set(problems)].join('\n')).toEqual([]);
  });
});
