// Renders every math span given on stdin (a JSON list of TeX strings) with KaTeX
// in strict mode, and prints a JSON list of [index, span, error] for those that fail.
// Used by tests/test_latex.py: one node process for all spans.
const katex = require("katex");
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const spans = JSON.parse(input);
  const failures = [];
  spans.forEach((tex, i) => {
    try {
      katex.renderToString(tex, { strict: "error", throwOnError: true, displayMode: false });
    } catch (err) {
      failures.push([i, tex, String(err.message || err)]);
    }
  });
  process.stdout.write(JSON.stringify(failures));
});
