// Renders math spans with KaTeX in strict mode. Each line on stdin is a JSON list of TeX
// strings; for each, one line is written: a JSON list of [index, span, error] for the spans
// that fail. Used by tests/test_latex.py: one node process, started once, serves every
// check of a test process (KaTeX is loaded once, not once a check).
const katex = require("katex");
const readline = require("readline");
const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  const spans = JSON.parse(line);
  const failures = [];
  spans.forEach((tex, i) => {
    try {
      katex.renderToString(tex, { strict: "error", throwOnError: true, displayMode: false });
    } catch (err) {
      failures.push([i, tex, String(err.message || err)]);
    }
  });
  process.stdout.write(JSON.stringify(failures) + "\n");
});
