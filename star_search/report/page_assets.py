"""Static pieces of the report page: stylesheet, the table-sorting and CSV-download script
(the CSV is embedded gzip-compressed, base64-encoded, and inflated into a Blob on click), mixer
colours."""

from __future__ import annotations

MIXER_COLOURS: dict[str, str] = {
    "conv": "#4c78a8",
    "attention": "#f58518",
    "ssm": "#54a24b",
    "linear_attention": "#b279a2",
}

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #222;
       background: #fafafa; }
main { max-width: 1280px; margin: 0 auto; padding: 0 1.5rem 3rem; }
header.top { background: #1f2933; color: #fff; padding: 0.9rem 1.5rem; position: sticky; top: 0;
             z-index: 10; }
header.top h1 { font-size: 1.2rem; margin: 0 0 0.35rem; font-weight: 600; }
header.top nav a { color: #cfd8e3; margin-right: 1rem; font-size: 0.85rem; text-decoration: none; }
header.top nav a:hover { color: #fff; text-decoration: underline; }
h2 { font-size: 1.15rem; margin: 2.2rem 0 0.6rem; padding-bottom: 0.25rem; border-bottom: 1px solid #ddd; }
h2.study-title { font-size: 1.35rem; margin-top: 3rem; border-bottom: 3px solid #1f2933; }
section { scroll-margin-top: 5rem; }
p.note { color: #555; font-size: 0.88rem; max-width: 70rem; margin: 0.3rem 0 0.8rem; }
.cards { display: flex; flex-wrap: wrap; gap: 0.75rem; margin: 1rem 0; }
.card { background: #fff; border: 1px solid #e3e3e3; border-radius: 6px; padding: 0.6rem 0.9rem;
        min-width: 8.5rem; }
.card .value { font-size: 1.35rem; font-weight: 600; }
.card .label { font-size: 0.75rem; color: #666; text-transform: uppercase; letter-spacing: 0.03em; }
.card.bad .value { color: #b42318; }
table { border-collapse: collapse; font-size: 0.84rem; background: #fff; }
th, td { padding: 0.25rem 0.55rem; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
table.facts th { font-weight: 600; color: #555; white-space: nowrap; }
table.facts { margin-bottom: 0.75rem; }
.scroll { max-height: 36rem; overflow: auto; border: 1px solid #e3e3e3; border-radius: 4px; }
table.sortable th { cursor: pointer; background: #f1f3f5; position: sticky; top: 0; white-space: nowrap;
                    user-select: none; }
table.sortable th:hover { background: #e2e6ea; }
table.sortable th[data-order="asc"]::after { content: " \\25B2"; }
table.sortable th[data-order="desc"]::after { content: " \\25BC"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.front td { background: #fdecea; } tr.infeasible td { color: #1f4e79; }
tr.failed td, tr.pruned td { color: #888; }
.mono { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; }
.reason { white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: 0.78rem; max-width: 48rem; }
.cell { display: inline-block; width: 14px; height: 22px; margin-right: 2px; border-radius: 2px;
        vertical-align: middle; box-sizing: border-box; }
.cell.moe { border: 3px solid #222; }
.strip { white-space: nowrap; }
.badge { display: inline-block; font-size: 0.7rem; padding: 0.05rem 0.4rem; border-radius: 3px;
         background: #ffd700; color: #222; font-weight: 600; margin-left: 0.3rem; }
.badge.infeasible { background: #1f77b4; color: #fff; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 0.75rem; }
.grid > * { min-width: 0; }
.figure { background: #fff; border: 1px solid #e3e3e3; border-radius: 6px; padding: 0.4rem 0.5rem;
          margin-bottom: 0.75rem; overflow: hidden; }
h3.figure-title { font-size: 0.95rem; font-weight: 600; margin: 0.2rem 0 0 0.3rem; color: #333; }
h3.figure-title .aside { font-weight: 400; color: #666; font-size: 0.85rem; }
button.download { font: inherit; font-size: 0.85rem; padding: 0.3rem 0.8rem; border: 1px solid #1f2933;
                  background: #1f2933; color: #fff; border-radius: 4px; cursor: pointer;
                  margin-bottom: 0.5rem; }
button.download:hover { background: #3e4c59; }
.legend { font-size: 0.85rem; }
"""

PAGE_SCRIPT = """
document.querySelectorAll("table.sortable th").forEach(function (th) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0], col = th.cellIndex;
    var asc = th.dataset.order !== "asc";
    table.querySelectorAll("th").forEach(function (h) { delete h.dataset.order; });
    th.dataset.order = asc ? "asc" : "desc";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.sort, y = b.cells[col].dataset.sort;
      if (x === undefined) { x = a.cells[col].textContent; }
      if (y === undefined) { y = b.cells[col].textContent; }
      if (x === "" || y === "") { return x === y ? 0 : (x === "" ? 1 : -1); }
      var nx = Number(x), ny = Number(y);
      var cmp = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return asc ? cmp : -cmp;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
document.querySelectorAll("button.download").forEach(function (button) {
  button.addEventListener("click", function () {
    var packed = atob(document.getElementById(button.dataset.source).textContent.trim());
    var bytes = new Uint8Array(packed.length);
    for (var i = 0; i < packed.length; i++) { bytes[i] = packed.charCodeAt(i); }
    var csv = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    new Response(csv).blob().then(function (blob) {
      var url = URL.createObjectURL(new Blob([blob], {type: "text/csv"}));
      var link = document.createElement("a");
      link.href = url; link.download = button.dataset.filename;
      document.body.appendChild(link); link.click(); link.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
    });
  });
});
"""
