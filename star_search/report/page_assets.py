"""Static pieces of the report page: stylesheet, the table-sorting script, mixer colours."""

from __future__ import annotations

MIXER_COLOURS: dict[str, str] = {
    "conv": "#4c78a8",
    "attention": "#f58518",
    "ssm": "#54a24b",
    "linear_attention": "#b279a2",
}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85rem; }
th, td { padding: 0.25rem 0.5rem; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
table.facts th { font-weight: 600; color: #555; }
table.sortable th { cursor: pointer; background: #f5f5f5; position: sticky; top: 0; }
table.sortable th[data-order="asc"]::after { content: " \\25B2"; }
table.sortable th[data-order="desc"]::after { content: " \\25BC"; }
tr.front td { background: #fdecea; } tr.infeasible td { color: #1f4e79; }
tr.failed td, tr.pruned td { color: #888; }
.mono { font-family: ui-monospace, monospace; }
.reason { white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: 0.8rem; }
.cell { display: inline-block; width: 14px; height: 22px; margin-right: 2px; border: 1px solid #fff;
        vertical-align: middle; }
.cell.moe { border: 2px solid #222; }
.figure { margin-bottom: 1rem; }
"""

SORT_SCRIPT = """
document.querySelectorAll("table.sortable th").forEach(function (th) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0], col = th.cellIndex;
    var asc = th.dataset.order !== "asc";
    table.querySelectorAll("th").forEach(function (h) { delete h.dataset.order; });
    th.dataset.order = asc ? "asc" : "desc";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.sort || a.cells[col].textContent;
      var y = b.cells[col].dataset.sort || b.cells[col].textContent;
      var nx = Number(x), ny = Number(y);
      var cmp = (x !== "" && y !== "" && !isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return asc ? cmp : -cmp;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
"""
