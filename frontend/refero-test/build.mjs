// Builds the test page that renders our Questionnaires with Helsenorge's form filler
// (@helsenorge/refero) into var/refero-test/: an ES module bundle (refero starts its fhirpath
// worker from import.meta.url), its CSS (the design system's .module.scss through Sass), refero's
// worker assets beside the bundle, and index.html. `make refero-test` runs it.
import { cpSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { sassPlugin } from "esbuild-sass-plugin";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const out = join(root, "var", "refero-test");
mkdirSync(out, { recursive: true });

await esbuild.build({
  entryPoints: [join(here, "main.jsx")],
  outdir: out,
  bundle: true,
  format: "esm",
  splitting: false,
  minify: true,
  sourcemap: false,
  target: ["chrome120"],
  jsx: "automatic",
  loader: { ".woff": "file", ".woff2": "file", ".svg": "file", ".png": "file" },
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "error",
  plugins: [
    sassPlugin({ filter: /\.module\.scss$/, type: "local-css", quietDeps: true }),
    sassPlugin({ filter: /\.scss$/, quietDeps: true }),
  ],
});
cpSync(join(root, "node_modules", "@helsenorge", "refero", "assets"), join(out, "assets"), {
  recursive: true,
});
cpSync(join(here, "index.html"), join(out, "index.html"));
console.log(`refero test page built in ${out}`);
