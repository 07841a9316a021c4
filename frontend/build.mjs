// Copies the vendored front-end files into upskill/static/dist.
// JS islands (CodeMirror, charts) will be bundled here with esbuild.
import { copyFileSync, mkdirSync } from "node:fs";
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
