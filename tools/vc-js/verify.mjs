#!/usr/bin/env node
/**
 * Verify credentials with the reference libraries, offline.
 *
 *   node verify.mjs [REQUEST.json]      (standard input without a file)
 *
 * A request is {"credential": {...}, "didDocuments": [...]?, "statusLists": [...]?,
 * "now": "2026-01-15T10:00:00Z"?}; a batch is {"requests": [request, ...]}.
 * Prints, per request, {"verified", "errors", "expired", "status": {"revoked",
 * "suspended", "verified"} | null} (a batch prints {"results": [...]}).
 * `verified` is @digitalbazaar/vc's answer, which ignores status (pitfall 7).
 */
import {readFileSync} from 'node:fs';

import {verifyCredential} from './lib/reference.mjs';

const input = JSON.parse(readFileSync(process.argv[2] || 0, 'utf8'));
if(Array.isArray(input.requests)) {
  const results = [];
  for(const request of input.requests) {
    results.push(await verifyCredential(request));
  }
  process.stdout.write(JSON.stringify({results}));
} else {
  process.stdout.write(JSON.stringify(await verifyCredential(input)));
}
