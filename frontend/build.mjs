// Copies the vendored front-end files into upskill/static/dist and bundles the JS islands
// (src/*.js) with esbuild: one self-contained, minified file per island, no CDN at run time.
import { copyFileSync, mkdirSync } from "node:fs";
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "..", "upskill", "static", "dist");
mkdirSync(dist, { recursive: true });

const files = {
  "pico.min.css": "node_modules/@picocss/pico/css/pico.min.css",
  "htmx.min.js": "node_modules/htmx.org/dist/htmx.min.js",
};
for (const [target, source] of Object.entries(files)) {
  copyFileSync(join(here, source), join(dist, target));
  console.log(`static/dist/${target} <- ${source}`);
}

const islands = { "editor.js": "src/editor.js" };
for (const [target, source] of Object.entries(islands)) {
  await build({
    entryPoints: [join(here, source)],
    outfile: join(dist, target),
    bundle: true,
    minify: true,
    format: "iife",
    target: ["es2020"],
    legalComments: "linked",
    logLevel: "warning",
  });
  console.log(`static/dist/${target} <- ${source} (bundled)`);
}
