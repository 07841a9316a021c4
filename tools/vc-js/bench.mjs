#!/usr/bin/env node
/**
 * Time the reference verifier in-process (for bench/credentials.py).
 *
 *   node bench.mjs [REQUEST.json]      (standard input without a file)
 *
 * A request is {"credential", "statusLists"?, "didDocuments"?, "now"?, "jwk"?,
 * "unsigned"?, "seconds": 3, "warmup": 20}. Verifies the credential as often
 * as fits in `seconds` (after `warmup` untimed runs), then the same with the
 * status lists if given, then signs `unsigned` with `jwk` if given. Every
 * verification must succeed (exit 1 otherwise). Prints {"verify": {...},
 * "verify_with_status": {...} | null, "sign": {...} | null} with count, per_s,
 * median_ms and p95_ms each.
 */
import {readFileSync} from 'node:fs';
import {performance} from 'node:perf_hooks';

import {signCredential, verifyCredential} from './lib/reference.mjs';

const request = JSON.parse(readFileSync(process.argv[2] || 0, 'utf8'));
const seconds = request.seconds ?? 3;
const warmup = request.warmup ?? 20;

async function measure(operation) {
  for(let i = 0; i < warmup; ++i) {
    await operation();
  }
  const times = [];
  const start = performance.now();
  while(performance.now() - start < seconds * 1000) {
    const t0 = performance.now();
    await operation();
    times.push(performance.now() - t0);
  }
  const total = performance.now() - start;
  times.sort((a, b) => a - b);
  return {
    count: times.length,
    per_s: times.length / (total / 1000),
    median_ms: times[Math.floor(times.length / 2)],
    p95_ms: times[Math.floor(times.length * 0.95)],
  };
}

function mustVerify(withStatus) {
  return async () => {
    const result = await verifyCredential({
      credential: request.credential,
      didDocuments: request.didDocuments || [],
      statusLists: withStatus ? request.statusLists : [],
      now: request.now,
    });
    if(!result.verified || (withStatus && !(result.status && result.status.verified))) {
      process.stderr.write(`reference did not verify: ${JSON.stringify(result)}\n`);
      process.exit(1);
    }
  };
}

const output = {verify: await measure(mustVerify(false)), verify_with_status: null, sign: null};
if(request.statusLists && request.statusLists.length > 0) {
  output.verify_with_status = await measure(mustVerify(true));
}
if(request.jwk && request.unsigned) {
  output.sign = await measure(() => signCredential({
    credential: request.unsigned, jwk: request.jwk, created: request.now,
  }));
}
process.stdout.write(JSON.stringify(output));
