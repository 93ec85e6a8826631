/**
 * `@peculiar/x509` 2.x wires its algorithms with tsyringe, which refuses to load unless
 * `Reflect.getMetadata` exists (the `reflect-metadata` polyfill). x509 itself defines no
 * decorator metadata; tsyringe only needs `getMetadata`, `getOwnMetadata` and `defineMetadata`
 * to exist and behave. This installs a minimal WeakMap-backed version of those three — and
 * nothing at all when a real polyfill (reflect-metadata, core-js) is already loaded — so the
 * package needs no extra dependency. Call `installReflectMetadata()` before loading `@peculiar/x509`;
 * importing this module changes nothing.
 */
type Target = object;
const store = new WeakMap<Target, Map<PropertyKey | undefined, Map<unknown, unknown>>>();

function own(target: Target, property: PropertyKey | undefined, create: boolean): Map<unknown, unknown> | undefined {
  let byProperty = store.get(target);
  if (!byProperty) {
    if (!create) return undefined;
    byProperty = new Map();
    store.set(target, byProperty);
  }
  let entries = byProperty.get(property);
  if (!entries && create) {
    entries = new Map();
    byProperty.set(property, entries);
  }
  return entries;
}

/** Adds the three metadata functions to the global `Reflect`, unless a polyfill already did. */
export function installReflectMetadata(): void {
  const R = Reflect as unknown as Record<string, unknown>;
  if (typeof R.getMetadata === 'function') return;
  R.defineMetadata = (key: unknown, value: unknown, target: Target, property?: PropertyKey): void => {
    own(target, property, true)!.set(key, value);
  };
  R.getOwnMetadata = (key: unknown, target: Target, property?: PropertyKey): unknown => own(target, property, false)?.get(key);
  R.getMetadata = (key: unknown, target: Target, property?: PropertyKey): unknown => {
    for (let t: Target | null = target; t !== null; t = Object.getPrototypeOf(t)) {
      const entries = own(t, property, false);
      if (entries?.has(key)) return entries.get(key);
    }
    return undefined;
  };
}
