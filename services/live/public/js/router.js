// Hash routes: #/ (fleet), #/pack/SITE/PACK, #/case/ID, #/cases?filters.

const ROUTES = [
  { name: "pack", pattern: /^#\/pack\/([^/?]+)\/([^/?]+)$/, keys: ["siteId", "packId"] },
  { name: "case", pattern: /^#\/case\/([^/?]+)$/, keys: ["id"] },
  { name: "cases", pattern: /^#\/cases(?:\?(.*))?$/, keys: ["query"] },
  { name: "fleet", pattern: /^(?:#\/?)?(?:\?(.*))?$/, keys: ["query"] },
];

/** The route of a hash: its name and decoded parameters (unknown hashes are the fleet). */
export function parseRoute(hash) {
  for (const route of ROUTES) {
    const found = route.pattern.exec(hash);
    if (!found) continue;
    const params = {};
    route.keys.forEach((key, i) => {
      const raw = found[i + 1];
      params[key] = key === "query" ? new URLSearchParams(raw || "") : decodeURIComponent(raw);
    });
    return { name: route.name, params };
  }
  return { name: "fleet", params: { query: new URLSearchParams() } };
}

export const packHref = (siteId, packId) => `#/pack/${encodeURIComponent(siteId)}/${encodeURIComponent(packId)}`;
export const caseHref = (id) => `#/case/${encodeURIComponent(id)}`;
